"""/metrics parses and passes promtool; the rules pass their unit tests; worker metrics survive prefork."""

import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import TelegramAccount
from tests.processes import ROOT, celery_worker, clean_env, manage
from tests.services import tool_path

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
DEPLOY = ROOT / "deploy"
BOUNDED_LABELS = {"status", "outcome", "operation", "event", "state", "task", "component", "kind", "le",
                  "restriction"}  # fmt: skip


METRICS_TOKEN = "scrape-" + "t" * 40


@pytest.fixture(autouse=True)
def _metrics_token(settings) -> None:
    settings.METRICS_TOKEN = METRICS_TOKEN


def _scrape(client):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")


def test_metrics_are_refused_to_anyone_without_the_token(client, settings) -> None:
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "x" * 47)
    anonymous = client.get("/metrics")
    settings.METRICS_TOKEN = None
    unset = client.get("/metrics")

    assert (wrong.status_code, anonymous.status_code) == (401, 401)
    assert wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"tgfleet_" not in wrong.content + anonymous.content + unset.content
    assert unset.status_code == 403 and b"METRICS_TOKEN" in unset.content


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_the_exposition_parses_and_holds_django_and_fleet_metrics(client, vault) -> None:
    TelegramAccount.objects.create(label="a", dc_id=2, source_format="telethon_string", vault_name="a.tgs",
                                   auth_key_sha256="a" * 64, status="offline")  # fmt: skip
    client.get("/health/live")

    text = _scrape(client).content.decode()
    families = _families(text)

    assert {"django_http_requests_before_middlewares", "django_db_new_connections", "django_cache_get"} <= set(families)
    inserts = {s.labels["model"]: s.value for s in families["django_model_inserts"].samples}
    assert inserts["telegram_account"] >= 1
    accounts = {s.labels["status"]: s.value for s in families["tgfleet_accounts"].samples}
    assert accounts["offline"] == 1 and accounts["ok"] == 0
    for name, family in families.items():
        if name.startswith("tgfleet_"):
            for sample in family.samples:
                assert set(sample.labels) <= BOUNDED_LABELS, (name, sample.labels)


def test_promtool_accepts_the_exposition(client, tmp_path) -> None:
    text = _scrape(client).content

    result = subprocess.run([tool_path("promtool", "prometheus"), "check", "metrics"], input=text, capture_output=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_domain_counters_move_with_the_work(vault, telegram_dc) -> None:
    from accounts.services import account_check, session_import
    from accounts.sessions import InputFile
    from conftest import SYSTEM
    from tests import session_makers as make

    def value(name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    checks_before = value("tgfleet_check_outcomes_total", outcome="ok")
    timed_before = value("tgfleet_check_duration_seconds_count")
    within_30s_before = value("tgfleet_check_duration_seconds_bucket", le="30.0")
    imports_before = value("tgfleet_vault_operations_total", operation="import")
    key = make.random_key()
    telegram_dc.add_key(key)
    session_import(
        actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    )
    account_check(actor=SYSTEM, account=TelegramAccount.objects.get())

    assert value("tgfleet_check_outcomes_total", outcome="ok") == checks_before + 1
    assert value("tgfleet_check_duration_seconds_count") == timed_before + 1
    assert value("tgfleet_check_duration_seconds_bucket", le="30.0") == within_30s_before + 1
    assert value("tgfleet_vault_operations_total", operation="import") == imports_before + 1


def test_observing_many_at_once_counts_as_observing_each(tmp_path) -> None:
    """histogram_observe_many against Histogram.observe, one by one: every bucket (a bound itself included, which
    belongs to its own bucket), the count and the sum."""
    from prometheus_client import CollectorRegistry, Histogram

    from project.metrics import histogram_observe_many

    amounts = [0.0, 0.01, 0.05, 0.051, 0.1, 0.3, 1.0, 29.9, 30.0, 31.5, 400.0, 0.05]
    one, many = CollectorRegistry(), CollectorRegistry()
    each = Histogram("d_seconds", "d", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30), registry=one)
    batch = Histogram("d_seconds", "d", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30), registry=many)
    for amount in amounts:
        each.observe(amount)
    histogram_observe_many(batch, amounts)
    histogram_observe_many(batch, [])

    def samples(registry) -> dict:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in registry.collect()
                for s in family.samples if not s.name.endswith("_created")}  # fmt: skip

    assert samples(many) == samples(one)
    assert samples(many)[("d_seconds_bucket", (("le", "0.05"),))] == 4  # 0, 0.01 and 0.05 twice
    assert samples(many)[("d_seconds_count", ())] == len(amounts)


def _config_with_token_file(tmp_path: Path) -> Path:
    """The shipped config, its token file moved from the container's /tmp to one that exists here."""
    text = (DEPLOY / "prometheus.yml").read_text()
    assert "credentials_file: /tmp/metrics_token" in text
    (tmp_path / "metrics_token").write_text(METRICS_TOKEN)
    (tmp_path / "rules").symlink_to(DEPLOY / "rules")
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace("/tmp/metrics_token", str(tmp_path / "metrics_token")))
    return config


def test_the_rules_pass_promtool_and_their_unit_tests(tmp_path) -> None:
    promtool = tool_path("promtool", "prometheus")
    checks = [
        [promtool, "check", "rules", *map(str, sorted((DEPLOY / "rules").glob("*.yml")))],
        [promtool, "check", "config", str(_config_with_token_file(tmp_path))],
        [promtool, "test", "rules", *map(str, sorted((DEPLOY / "rules" / "tests").glob("*.yml")))],
    ]
    for argv in checks:
        result = subprocess.run(argv, capture_output=True, text=True, cwd=DEPLOY / "rules" / "tests")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout


def test_task_metrics_survive_prefork_children_and_carry_no_hostname(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = clean_env(DATA_DIR=str(tmp_path / "data"), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                    CELERY_METRICS_PORT=str(port))  # fmt: skip

    with celery_worker(env, tmp_path / "worker.log", pool=("--pool", "prefork", "--concurrency", "2")):
        for _ in range(4):
            assert (
                manage("ping_worker", "--timeout", "60", env=clean_env(DATA_DIR=str(tmp_path / "data"))).returncode == 0
            )
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()

    families = _families(text)
    done = [s for s in families["tgfleet_celery_tasks"].samples if s.labels.get("state") == "succeeded"]
    assert sum(s.value for s in done if s.labels["task"] == "project.ping") == 4
    assert families["tgfleet_celery_task_runtime_seconds"].samples
    assert not re.search(r"hostname=|worker=|instance=", text)
    assert "tgfleet_accounts" not in families  # fleet gauges come from the web only
    assert len(list(Path(metrics_dir).glob("*.db"))) >= 2  # the children wrote their own files


def test_a_taken_metrics_port_costs_the_metrics_not_the_worker(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = clean_env(DATA_DIR=str(tmp_path / "data"), CELERY_METRICS_PORT=str(taken.getsockname()[1]))
        with celery_worker(env, tmp_path / "worker.log"):
            pinged = manage("ping_worker", "--timeout", "60", env=clean_env(DATA_DIR=str(tmp_path / "data")))

    assert pinged.returncode == 0
    assert "Worker metrics not served" in (tmp_path / "worker.log").read_text()


def test_health_is_exported_from_the_watchs_last_result_whatever_the_cache_holds(client, telegram_dc) -> None:
    from django.core.cache import cache

    from health.models import ComponentState
    from health.tasks import health_watch

    before = _families(_scrape(client).content.decode())
    assert not before["tgfleet_health_component"].samples  # the watch never ran: absent() in the rules
    health_watch.apply()
    cache.clear()  # another process, or the 30 s cache long gone

    families = _families(_scrape(client).content.decode())
    health = {s.labels["component"]: s.value for s in families["tgfleet_health_component"].samples}
    checked = {s.labels["component"]: s.value for s in families["tgfleet_health_checked_timestamp_seconds"].samples}
    stored = dict(ComponentState.objects.values_list("name", "status"))
    assert set(health) == set(stored) == set(checked) and {"database", "workers"} <= set(health)
    assert health["database"] == 1.0 and health["workers"] == 0.0  # no worker runs here
    assert all(abs(at - time.time()) < 120 for at in checked.values())
