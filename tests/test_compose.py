"""docker-compose.yml as a parser reads it (no Docker here): who runs as which database role, which secrets."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("web", "worker", "alerts-worker", "beat")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_app_runs_as_a_role_that_owns_nothing_and_migrations_run_as_the_owner() -> None:
    services = _compose()["services"]

    for name in APP_SERVICES:
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://tgfleet_app:"), name
    migrate = services["migrate"]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgres://tgfleet:")
    assert "db_grant_app_role --role tgfleet_app" in migrate["command"]
    init = [v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and (ROOT / init[0].split(":")[0]).is_file()


def test_every_app_container_shares_the_chain_key_and_the_metrics_token_from_env() -> None:
    services = _compose()["services"]

    for name in (*APP_SERVICES, "migrate"):
        env = services[name]["environment"]
        assert env["AUDIT_CHAIN_KEY"].startswith("${AUDIT_CHAIN_KEY:?"), name
        assert env["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?"), name
    prometheus = services["prometheus"]
    assert "/tmp/metrics_token" in " ".join(prometheus["entrypoint"])
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]
    web = next(job for job in scrape if job["job_name"] == "tgfleet-web")
    assert web["authorization"] == {"type": "Bearer", "credentials_file": "/tmp/metrics_token"}
