"""Malformed environment values stop the process with an error that names the variable."""

import pytest

from tests.processes import clean_env, manage

CANARY = "canary-password-8f3a"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://db.example/tgfleet"),
        ("DATABASE_URL", f"postgres://user:{CANARY}@db.example:notaport/tgfleet"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("DATABASE_CONN_MAX_AGE", "-5"),
        ("REDIS_URL", "http://cache.example:6379"),
        ("REDIS_URL", "redis://"),
        ("REDIS_KEY_PREFIX", "spaces are not keys"),
        ("ALLOWED_HOSTS", "example.com,,other.example"),
        ("SECRET_KEY", "short"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("HTTPS", "2"),
        ("LOG_LEVEL", "LOUD"),
        ("SECRET_KEY_FILE", "/nonexistent/secret"),
    ],
)
def test_a_malformed_value_names_its_variable(variable: str, value: str, tmp_path) -> None:
    result = manage("check", env=clean_env(DATA_DIR=str(tmp_path), **{variable: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]
    assert CANARY not in result.stderr + result.stdout


def test_a_secret_can_come_from_a_file(tmp_path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("x" * 20 + "y" * 20 + "abcdefghijklmn\n")
    env = clean_env(DATA_DIR=str(tmp_path), SECRET_KEY_FILE=str(secret_file))

    result = manage("shell", "-v0", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "x" * 20 + "y" * 20 + "abcdefghijklmn"


def test_a_variable_and_its_file_together_are_refused(tmp_path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("z" * 60)
    env = clean_env(DATA_DIR=str(tmp_path), SECRET_KEY_FILE=str(secret_file), SECRET_KEY="q" * 30 + "w" * 30)

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY and SECRET_KEY_FILE are both set" in result.stderr


def test_deploy_checks_are_clean_under_a_production_environment(tmp_path) -> None:
    env = clean_env(
        DATA_DIR=str(tmp_path),
        SECRET_KEY="production-" + "k3y" * 20,
        HTTPS="true",
        BEHIND_PROXY="true",
        ALLOWED_HOSTS="tgfleet.example.com",
    )

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked_for(tmp_path) -> None:
    code = "from django.conf import settings; print(settings.DEBUG)"
    off = manage("shell", "-v0", "-c", code, env=clean_env(DATA_DIR=str(tmp_path)))
    on = manage("shell", "-v0", "-c", code, env=clean_env(DATA_DIR=str(tmp_path), DEBUG="true"))

    assert (off.stdout.strip(), on.stdout.strip()) == ("False", "True")


@pytest.mark.parametrize(
    ("batch", "concurrency", "timeout"), [("500", "50", "20"), ("2000", "50", "30"), ("10", "1", "300")]
)
def test_a_check_lease_outlasts_the_longest_batch_by_default(
    batch: str, concurrency: str, timeout: str, tmp_path
) -> None:
    """A lease shorter than its batch lets another worker claim an account mid-check, and Telegram kills a key used
    from two places at once: by default the lease covers the batch's task until it is killed (its time limit and
    30 s)."""
    env = clean_env(DATA_DIR=str(tmp_path), CHECK_BATCH_SIZE=batch, CHECK_CONCURRENCY=concurrency,
                    TELEGRAM_CHECK_TIMEOUT=timeout)  # fmt: skip
    code = "from django.conf import settings as s; print(s.CHECK_LEASE_SECONDS, s.CHECK_TASK_TIME_LIMIT)"

    result = manage("shell", "-v0", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    lease, time_limit = map(int, result.stdout.split())
    assert lease >= time_limit + 30
    assert lease >= 300
