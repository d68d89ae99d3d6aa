from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import token_create
from project.actors import SystemActor


class Command(BaseCommand):
    help = "Create a Bearer token for USERNAME and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--expires-days", type=int, default=None, help="days until it expires (1-3650)")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: object, username: str, expires_days: int | None, name: str, **options: object) -> None:
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise CommandError("--expires-days must be between 1 and 3650")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        row, token = token_create(
            actor=SystemActor("create_api_token"), user=user, name=name, expires_days=expires_days
        )
        self.stdout.write(token)
        expiry = row.expires_at.isoformat() if row.expires_at else "never"
        self.stderr.write(f"Token {row.prefix}… for {username}, expires {expiry}. It is shown only this once.")
