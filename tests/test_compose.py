"""docker compose as a new user runs it: `cp .env.example .env`, fill in the secrets, `docker compose up`.

No Docker here: tests/compose_render.py works out what compose hands each container (image ENV, then
.env, then `environment:`), and Django's settings are loaded from exactly that environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from tests.compose_render import ROOT, ComposeError, compose_config, dotenv_parse, interpolate, service_env
from tests.services import tool_path

APP_SERVICES = ("web", "worker", "alerts-worker", "beat")
PUBLISHED = ("web", "prometheus", "alertmanager", "grafana")


def _dotenv(**changes: str) -> dict[str, str]:
    """.env.example with what the README says to fill in."""
    dotenv = dotenv_parse((ROOT / ".env.example").read_text())
    dotenv.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        METRICS_TOKEN=secrets.token_hex(32),
        AUDIT_CHAIN_KEY=secrets.token_hex(32),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        APP_DB_PASSWORD=secrets.token_hex(16),
        GRAFANA_ADMIN_PASSWORD=secrets.token_hex(16),
        TELEGRAM_BOT_TOKEN="123456:" + secrets.token_urlsafe(26),
        TELEGRAM_CHAT_ID="-1001234567890",
    )
    dotenv.update(changes)
    return dotenv


def _settings_in(env: dict[str, str], tmp_path: Path) -> dict:
    """Django's settings as the container would load them (its /data and /app paths moved under tmp_path)."""
    moved = {}
    for name, value in env.items():
        for prefix in ("/data", "/app/static", "/tmp/prometheus"):
            if value == prefix or value.startswith(prefix + "/"):
                value = str(tmp_path / prefix.strip("/")) + value[len(prefix) :]
        moved[name] = value
    (tmp_path / "tmp" / "prometheus").mkdir(parents=True, exist_ok=True)  # compose's tmpfs
    token = Fernet(env["SESSION_ENCRYPTION_KEY"].split(",")[0]).encrypt(b"x")
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.files.storage import storages\n"
        "from accounts.vault.crypto import vault_keys\n"
        "print(json.dumps({'allowed_hosts': settings.ALLOWED_HOSTS, 'data_dir': str(settings.DATA_DIR),"
        " 'static_root': str(settings.STATIC_ROOT), 'store': str(storages['sessions'].location),"
        " 'vault': vault_keys().source, 'vault_token_ok': vault_keys().decrypt(TOKEN) == b'x',"
        " 'checkpoints': str(settings.AUDIT_CHECKPOINT_FILE)}))"
    ).replace("TOKEN", repr(token))
    path = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], env={**moved, **path}, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_app_container_keeps_its_data_on_the_shared_volume_with_one_set_of_keys(tmp_path) -> None:
    dotenv = _dotenv()
    config = compose_config(dotenv)
    loaded = {}
    for name in (*APP_SERVICES, "migrate"):
        spec = config["services"][name]
        env = service_env(config, name, dotenv)
        assert "sessions:/data" in spec["volumes"], name
        assert env["DATA_DIR"] == "/data" and env["STATIC_ROOT"] == "/app/static", name
        for secret in ("SECRET_KEY", "AUDIT_CHAIN_KEY", "SESSION_ENCRYPTION_KEY", "METRICS_TOKEN"):
            assert env[secret] == dotenv[secret], (name, secret)
        loaded[name] = _settings_in(env, tmp_path / name)

    for name, got in loaded.items():
        root = tmp_path / name
        assert got["data_dir"] == str(root / "data"), name
        assert got["store"] == str(root / "data" / "sessions"), name
        assert got["checkpoints"] == str(root / "data" / "audit-checkpoints.jsonl"), name
        assert got["static_root"] == str(root / "app/static"), name
        # Each reads what another sealed: the vault key is the one from .env, not one of its own.
        assert got["vault"] == "keys" and got["vault_token_ok"], name


def test_a_dotenv_that_names_paths_or_hosts_moves_nothing_and_keeps_the_scrape_host(tmp_path) -> None:
    dotenv = _dotenv(DATA_DIR="var", STATIC_ROOT="", SESSION_STORE_DIR="", ALLOWED_HOSTS="tgfleet.example.com")
    config = compose_config(dotenv)
    env = service_env(config, "web", dotenv)

    assert env["DATA_DIR"] == "/data" and env["STATIC_ROOT"] == "/app/static"
    got = _settings_in(env, tmp_path)
    assert {"web", "localhost", "127.0.0.1", "tgfleet.example.com"} <= set(got["allowed_hosts"])
    assert got["store"] == str(tmp_path / "data" / "sessions")
    # Without a name of one's own, the list is still well formed (no empty item).
    plain = service_env(compose_config(_dotenv()), "web", _dotenv())
    assert plain["ALLOWED_HOSTS"] == "web,localhost,127.0.0.1"


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "AUDIT_CHAIN_KEY", "SESSION_ENCRYPTION_KEY", "METRICS_TOKEN", "APP_DB_PASSWORD",
     "GRAFANA_ADMIN_PASSWORD", "TELEGRAM_BOT_TOKEN"],
)  # fmt: skip
def test_compose_refuses_to_start_without_a_shared_secret_and_names_it(missing) -> None:
    with pytest.raises(ComposeError, match=missing):
        compose_config(_dotenv(**{missing: ""}))


def test_the_app_runs_as_a_role_that_owns_nothing_and_migrations_run_as_the_owner() -> None:
    dotenv = _dotenv()
    services = compose_config(dotenv)["services"]

    for name in APP_SERVICES:
        url = service_env(compose_config(dotenv), name, dotenv)["DATABASE_URL"]
        assert url.startswith(f"postgres://tgfleet_app:{dotenv['APP_DB_PASSWORD']}@postgres:"), name
    migrate = services["migrate"]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgres://tgfleet:")
    assert "db_grant_app_role --role tgfleet_app" in migrate["command"]
    init = [v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and (ROOT / init[0].split(":")[0]).is_file()


def test_published_ports_bind_to_loopback_unless_told_and_state_lives_in_volumes() -> None:
    dotenv = _dotenv()
    services = compose_config(dotenv)["services"]
    for name in PUBLISHED:
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), (name, port)
    opened = compose_config(_dotenv(PUBLISH_ADDRESS="0.0.0.0"))["services"]  # noqa: S104 (opened knowingly)
    assert opened["grafana"]["ports"] == ["0.0.0.0:3000:3000"]

    volumes = {name: " ".join(services[name]["volumes"]) for name in ("prometheus", "alertmanager", "grafana", "redis")}
    assert "prometheusdata:/prometheus" in volumes["prometheus"]
    assert "alertmanagerdata:/alertmanager" in volumes["alertmanager"]
    assert "grafanadata:/var/lib/grafana" in volumes["grafana"]
    assert "redisdata:/data" in volumes["redis"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == dotenv["GRAFANA_ADMIN_PASSWORD"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_web_and_workers_have_healthchecks_that_ask_the_process_itself() -> None:
    services = compose_config(_dotenv())["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/health/live" in web
    for name, node in (("worker", "worker"), ("alerts-worker", "alerts")):
        spec = services[name]
        assert f"-n {node}@%h" in spec["command"]
        assert spec["environment"]["CELERY_NODE"] == node
        check = " ".join(spec["healthcheck"]["test"])
        assert "inspect ping" in check and "-d ${CELERY_NODE}@${HOSTNAME}" in check


def test_prometheus_scrapes_web_with_the_token_and_web_answers_to_that_host() -> None:
    dotenv = _dotenv()
    services = compose_config(dotenv)["services"]
    prometheus = services["prometheus"]
    assert "/tmp/metrics_token" in " ".join(prometheus["entrypoint"])
    assert prometheus["environment"]["METRICS_TOKEN"] == dotenv["METRICS_TOKEN"]
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]
    web = next(job for job in scrape if job["job_name"] == "tgfleet-web")
    assert web["authorization"] == {"type": "Bearer", "credentials_file": "/tmp/metrics_token"}
    host = web["static_configs"][0]["targets"][0].split(":")[0]
    assert host in service_env(compose_config(dotenv), "web", dotenv)["ALLOWED_HOSTS"].split(",")


def test_the_alertmanager_config_compose_writes_passes_amtool_of_the_pinned_version(tmp_path) -> None:
    amtool = tool_path("amtool", "prometheus-alertmanager")
    version = subprocess.run([amtool, "--version"], capture_output=True, text=True).stdout + ""
    dotenv = _dotenv()
    spec = compose_config(dotenv)["services"]["alertmanager"]
    pinned = spec["image"].rsplit(":v", 1)[1]
    assert f"version {pinned.rsplit('.', 1)[0]}." in version or f"version {pinned}" in version, (pinned, version)

    # The container's own entrypoint, with its two paths moved here.
    command = spec["entrypoint"][2].split(" && exec ")[0]
    command = command.replace("/etc/alertmanager/alertmanager.yml", str(ROOT / "deploy" / "alertmanager.yml"))
    command = command.replace("/tmp/alertmanager.yml", str(tmp_path / "alertmanager.yml"))
    subprocess.run(["sh", "-c", command], env={**os.environ, **spec["environment"]}, check=True)
    rendered = (tmp_path / "alertmanager.yml").read_text()
    assert dotenv["TELEGRAM_BOT_TOKEN"] in rendered and "__ALERTMANAGER" not in rendered
    assert oct((tmp_path / "alertmanager.yml").stat().st_mode & 0o777) == "0o600"
    result = subprocess.run([amtool, "check-config", tmp_path / "alertmanager.yml"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert dotenv["TELEGRAM_BOT_TOKEN"] not in (ROOT / "deploy" / "alertmanager.yml").read_text()


def test_interpolation_follows_compose() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$$HOME ${SET} $SET", env) == "$HOME x x"
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${SET:-d}", env) == "d  d x"
    assert interpolate("${SET:+,}${EMPTY:+,}${EMPTY+,}", env) == ",,"
    with pytest.raises(ComposeError, match="UNSET: need it"):
        interpolate("${UNSET:?need it}", env)
    with pytest.raises(ComposeError, match="EMPTY"):
        interpolate("${EMPTY:?}", env)
    assert interpolate("${EMPTY?}", env) == ""
