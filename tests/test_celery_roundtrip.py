"""A task goes through a real broker to a real worker and its answer comes back."""

import pytest

from tests.processes import celery_worker, clean_env, manage
from tests.services import service_url

pytestmark = pytest.mark.timeout(120)


def _round_trip(env: dict[str, str], tmp_path) -> None:
    with celery_worker(env, tmp_path / "worker.log") as worker_name:
        result = manage("ping_worker", "--timeout", "60", env=env, timeout=90)

    log = (tmp_path / "worker.log").read_text()
    assert result.returncode == 0, result.stderr + log
    assert result.stdout.strip() == f"pong from {worker_name}"
    assert "project.ping" in log


def test_a_task_round_trips_through_the_embedded_broker(tmp_path) -> None:
    _round_trip(clean_env(DATA_DIR=str(tmp_path)), tmp_path)


def test_a_task_round_trips_through_redis(tmp_path) -> None:
    _round_trip(clean_env(DATA_DIR=str(tmp_path), REDIS_URL=service_url("REDIS_URL")), tmp_path)


def test_ping_without_a_worker_fails_with_a_clear_error(tmp_path) -> None:
    result = manage("ping_worker", "--timeout", "2", env=clean_env(DATA_DIR=str(tmp_path)))

    assert result.returncode == 1
    assert "no worker answered task" in result.stderr


def test_ping_refuses_a_nonpositive_timeout(tmp_path) -> None:
    result = manage("ping_worker", "--timeout", "0", env=clean_env(DATA_DIR=str(tmp_path)))

    assert result.returncode == 1
    assert "--timeout must be a positive number" in result.stderr
