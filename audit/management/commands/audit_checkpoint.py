from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointError, audit_checkpoint_write


class Command(BaseCommand):
    help = (
        "Verify the trail and append a signed checkpoint of its head (beat does this every AUDIT_CHECKPOINT_SECONDS)."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            checkpoint = audit_checkpoint_write()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from None
        if checkpoint is None:
            self.stdout.write("nothing new since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint #{checkpoint.sequence} written")
