from django.core.management.base import BaseCommand

from accounts.vault.crypto import key_generate


class Command(BaseCommand):
    help = "Print a new Fernet key for SESSION_ENCRYPTION_KEY (put it first to make it the newest)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(key_generate())
