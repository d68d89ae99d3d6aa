import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command


@pytest.fixture(scope="session", autouse=True)
def _collected_static() -> None:
    """Pages render through the same hashed static storage as production, so collect once."""
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture
def vault(settings, tmp_path):
    """A fresh vault directory and key for each test; yields the directory."""
    location = tmp_path / "vault"
    settings.STORAGES = {
        **settings.STORAGES,
        "sessions": {"BACKEND": "accounts.vault.storage.SessionFileStorage", "OPTIONS": {"location": location}},
    }
    settings.SESSION_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.SESSION_ENCRYPTION_PASSWORD = None
    settings.SESSION_ENCRYPTION_ENABLED = True
    return location


def _user(username: str, *codenames: str, superuser: bool = False):
    user = get_user_model().objects.create_user(username=username, password="correct-horse-battery-9")
    user.is_superuser = superuser
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def admin_user(db):
    return _user("root", superuser=True)


@pytest.fixture
def operator(db):
    return _user("operator", "view_telegramaccount", "add_telegramaccount", "change_telegramaccount", "export_session")


@pytest.fixture
def viewer(db):
    return _user("viewer", "view_telegramaccount")


@pytest.fixture
def outsider(db):
    return _user("outsider")
