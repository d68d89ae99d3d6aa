from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError

from project.tasks import ping


class Command(BaseCommand):
    help = "Send a task through the broker to a worker and wait for its answer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")

    def handle(self, *args: object, timeout: float, **options: object) -> None:
        if timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        result = ping.delay()
        try:
            answer = result.get(timeout=timeout)
        except CeleryTimeout:
            raise CommandError(f"no worker answered task {result.id} within {timeout:g}s") from None
        self.stdout.write(f"{answer['pong']} from {answer['worker']}")
