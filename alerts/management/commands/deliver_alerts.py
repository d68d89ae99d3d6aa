from django.core.management.base import BaseCommand

from alerts.delivery import deliver_sweep


class Command(BaseCommand):
    help = "Run one sweep of the alert outbox in the foreground and report what happened."

    def handle(self, *args: object, **options: object) -> None:
        report = deliver_sweep()
        self.stdout.write(
            f"sent {report.sent_messages} message(s) covering {report.sent_rows} notification(s); "
            f"retrying {report.retried_rows}, failed {report.failed_rows}, taken back {report.taken_back}, "
            f"unconfirmed {report.unconfirmed}"
        )
