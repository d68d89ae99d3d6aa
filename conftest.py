"""The shared cast: users in each role, two teams, a fresh vault per test."""

import logging

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.services import team_create
from project.actors import SystemActor
from tests.canaries import CanaryCatcher

SYSTEM = SystemActor("test")


@pytest.fixture(scope="session", autouse=True)
def _collected_static() -> None:
    """Pages render through the same hashed static storage as production, so collect once."""
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def _no_secret_in_any_log():
    """Every record any logger makes during the test, at any level, is searched for the canary secrets."""
    catcher = CanaryCatcher()
    root = logging.getLogger()
    root.addHandler(catcher)
    yield catcher
    root.removeHandler(catcher)
    if catcher.hits:
        pytest.fail("a secret reached the log: " + "; ".join(sorted(set(catcher.hits))), pytrace=False)


def _caches_empty() -> None:
    """Every cache key (breakers, health results, dashboard charts, rate limits); in Redis only the cache's own
    keys (django-redis prefixes them), never the broker's queues a worker test may still be reading."""
    from django.core.cache import caches

    for cache in caches.all(initialized_only=True):
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")
        else:
            cache.clear()


@pytest.fixture
def client():
    """pytest-django's client, signing in through two-factor where the user needs it (tests/two_factor.py)."""
    from tests.two_factor import TwoFactorClient

    return TwoFactorClient()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The cache is shared (Redis in CI): no test starts with another's open breaker, cached health or chart."""
    _caches_empty()
    yield
    _caches_empty()


@pytest.fixture(autouse=True)
def _telegram_unreachable(settings, server_rsa_pem) -> None:
    """No test dials Telegram: checks, probes and the health check go to loopback's discard port unless a
    test points them at the loopback DC (telegram_dc) or a port of its own."""
    settings.TELEGRAM_SERVER_ADDRESS = ("127.0.0.1", 9)
    settings.TELEGRAM_SERVER_RSA_KEY = server_rsa_pem


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


@pytest.fixture
def blue_team(db):
    return team_create(actor=SYSTEM, name="blue")


@pytest.fixture
def red_team(db):
    return team_create(actor=SYSTEM, name="red")


def _user(username: str, role: str | None = None, *teams, superuser: bool = False):
    user = get_user_model().objects.create_user(username=username, password="correct-horse-battery-9")
    user.is_superuser = superuser
    user.is_staff = True
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    for team in teams:
        user.groups.add(team.group)
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def superuser(db):
    return _user("root", superuser=True)


@pytest.fixture
def admin_user(db):
    return _user("admin-role", "admin")


@pytest.fixture
def operator(blue_team):
    return _user("operator", "operator", blue_team)


@pytest.fixture
def other_operator(red_team):
    return _user("other-operator", "operator", red_team)


@pytest.fixture
def viewer(blue_team):
    return _user("viewer", "viewer", blue_team)


@pytest.fixture
def auditor(db):
    return _user("auditor", "auditor")


@pytest.fixture
def outsider(db):
    return _user("outsider")


@pytest.fixture(scope="session")
def server_rsa_key():
    """The loopback DC's RSA key pair (its public half is what TELEGRAM_SERVER_RSA_KEY_FILE holds)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def server_rsa_pem(server_rsa_key) -> str:
    from cryptography.hazmat.primitives import serialization

    public = server_rsa_key.public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()


@pytest.fixture
def telegram_dc(settings, server_rsa_pem, server_rsa_key):
    """A loopback DC (DC 2, and DC 4 for numbers that live there), and settings that send every check to it."""
    from tests.mtproto_dc import LoopbackDC

    with LoopbackDC(rsa_key=server_rsa_key, extra_dcs=(4,)) as dc:
        settings.TELEGRAM_SERVER_ADDRESS = ("127.0.0.1", dc.port)
        settings.TELEGRAM_SERVER_RSA_KEY = server_rsa_pem
        settings.TELEGRAM_API_ID = 12345
        settings.TELEGRAM_CHECK_TIMEOUT = 5
        yield dc


@pytest.fixture
def check_worker_env(vault, telegram_dc, settings, tmp_path, server_rsa_pem):
    """The environment of a real Celery worker that shares this test's database, Redis, vault and loopback DC
    (start it with tests.processes.celery_worker); needs PostgreSQL and Redis."""
    from tests.processes import clean_env
    from tests.services import shared_worker_env

    pem = tmp_path / "server.pem"
    pem.write_text(server_rsa_pem)
    return clean_env(
        DATA_DIR=str(tmp_path / "worker-data"),
        **shared_worker_env(),
        SESSION_STORE_DIR=str(vault),
        SESSION_ENCRYPTION_KEY=settings.SESSION_ENCRYPTION_KEY[0],
        TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{telegram_dc.port}",
        TELEGRAM_SERVER_RSA_KEY_FILE=str(pem),
        TELEGRAM_API_ID="12345",
        TELEGRAM_CHECK_TIMEOUT="5",
    )


@pytest.fixture
def bot(settings):
    """A loopback Bot API, and settings that deliver alerts to it (default chat -100500)."""
    from tests.botapi_server import TOKEN, LoopbackBotAPI

    with LoopbackBotAPI() as server:
        settings.TELEGRAM_BOT_API_URL = server.url
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        settings.TELEGRAM_CHAT_ID = "-100500"
        settings.ALERT_DIGEST_WINDOW_SECONDS = 0
        settings.ALERT_DELIVERY_KICK = False
        settings.ALERT_SEND_TIMEOUT = 2
        yield server
