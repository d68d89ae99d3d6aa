import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Make sure an admin user exists: from ADMIN_USERNAME/ADMIN_PASSWORD, or with a generated password printed once."
    )

    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        existing = user_model.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(f"Admin user exists: {existing.get_username()}")
            return
        username = settings.ADMIN_USERNAME
        password = settings.ADMIN_PASSWORD
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(18)
        candidate = user_model(username=username, email=settings.ADMIN_EMAIL)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError(f"ADMIN_PASSWORD is not accepted: {' '.join(exc.messages)}") from None
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"ADMIN_USERNAME {username!r} belongs to a user who is not an admin; pick another name")
        user_model.objects.create_superuser(username=username, email=settings.ADMIN_EMAIL, password=password)
        if generated:
            self.stdout.write(f"Created admin user {username!r} with password: {password}")
            self.stdout.write("This password is shown once. Change it with: manage.py changepassword " + username)
        else:
            self.stdout.write(f"Created admin user {username!r} with the password from ADMIN_PASSWORD")
