import pytest
from django.core.management import call_command


@pytest.fixture(scope="session", autouse=True)
def _collected_static() -> None:
    """Pages render through the same hashed static storage as production, so collect once."""
    call_command("collectstatic", "--noinput", verbosity=0)
