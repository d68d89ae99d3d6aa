"""A task goes through a real broker to a real worker and its answer comes back."""

import uuid

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


def test_on_a_shared_redis_everything_is_under_the_prefix_and_cleanup_leaves_other_keys(tmp_path) -> None:
    """Another deployment on the same Redis (its own prefix) keeps its queues through our purge and cleanup."""
    import redis

    from tests.plugin import redis_keys_remove

    url = service_url("REDIS_URL")
    run = uuid.uuid4().hex[:8]
    prefix, theirs = f"tgfleet-own-{run}:", f"tgfleet-other-{run}:"
    client = redis.Redis.from_url(url)
    client.rpush(theirs + "celery", b"their task")
    client.rpush(theirs + "alerts", b"their alert")
    try:
        env = clean_env(DATA_DIR=str(tmp_path), REDIS_URL=url, REDIS_KEY_PREFIX=prefix)
        _round_trip(env, tmp_path)
        purged = manage("shell", "-c", "from tests.processes import broker_purge; broker_purge()", env=env)
        assert purged.returncode == 0, purged.stderr
        ours = set(client.scan_iter(match=prefix + "*"))
        removed = redis_keys_remove(url, prefix)
        left = set(client.scan_iter(match=prefix + "*"))
        survivors = [client.lrange(theirs + queue, 0, -1) for queue in ("celery", "alerts")]
    finally:
        client.delete(theirs + "celery", theirs + "alerts")
        client.close()

    assert ours and removed == len(ours) and not left
    assert any(key.startswith(f"{prefix}_kombu.binding.".encode()) for key in ours)  # the broker's keys carry it
    assert survivors == [[b"their task"], [b"their alert"]]
