"""The project starts, migrates, serves its admin and liveness, and installs its schedule."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from health.models import Heartbeat
from health.tasks import heartbeat_record
from project.schedule import PERIODIC_JOBS, SCHEDULE_MARKER, schedule_install
from tests.services import service_url


def test_the_admin_login_page_renders(client) -> None:
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b"tgfleet" in response.content


def test_liveness_answers_200(client) -> None:
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql_when_database_url_names_it() -> None:
    url = service_url("DATABASE_URL")
    if url.startswith("postgres"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"


@pytest.mark.django_db
def test_every_declared_job_is_installed_for_beat() -> None:
    installed = dict(PeriodicTask.objects.values_list("name", "task"))

    for job in PERIODIC_JOBS:
        assert installed[job.name] == job.task


@pytest.mark.django_db
def test_an_operators_schedule_change_survives_reinstall() -> None:
    job = PeriodicTask.objects.get(name="heartbeat")
    job.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    job.save()

    schedule_install()

    assert PeriodicTask.objects.get(name="heartbeat").interval.every == 300


@pytest.mark.django_db
def test_a_job_no_longer_declared_is_disabled_not_deleted() -> None:
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="retired", task="nothing.any_more", interval=interval, headers=json.dumps(SCHEDULE_MARKER)
    )

    counts = schedule_install()

    assert counts == {"created": 0, "disabled": 1}
    assert PeriodicTask.objects.get(name="retired").enabled is False


@pytest.mark.django_db
def test_the_heartbeat_job_records_when_it_ran() -> None:
    heartbeat_record.apply()

    assert Heartbeat.objects.filter(name="beat").count() == 1


@pytest.mark.django_db
def test_ensure_admin_generates_a_password_once_and_prints_it(capsys, settings) -> None:
    settings.ADMIN_PASSWORD = None
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out

    password = first.split("with password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert second.strip() == "Admin user exists: admin"


@pytest.mark.django_db
def test_ensure_admin_refuses_a_weak_password_and_creates_nothing(settings) -> None:
    settings.ADMIN_PASSWORD = "12345"

    with pytest.raises(CommandError, match="ADMIN_PASSWORD is not accepted"):
        call_command("ensure_admin")

    assert not get_user_model().objects.filter(is_superuser=True).exists()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_the_suite_cannot_reach_beyond_loopback() -> None:
    import socket

    from tests import plugin

    before = list(plugin._outside)
    with pytest.raises(ConnectionRefusedError, match="tests stay on loopback"):
        socket.create_connection(("149.154.167.51", 443), timeout=1)  # a Telegram DC: never dialled
    assert plugin._outside == [*before, "149.154.167.51:443"]
    plugin._outside[:] = before  # this refusal was the point; only unexpected ones fail the run


def test_a_served_process_loads_every_view_and_freezes_its_start_up_heap(tmp_path) -> None:
    """project.wsgi (what gunicorn loads) imports the URLconf's views, then gc.freeze(): full collections no longer
    rescan the start-up heap on requests (they cost one console request in ~50 an extra 100+ ms at 100,000)."""
    import subprocess
    import sys

    from tests.processes import ROOT, clean_env

    code = "import gc, sys, project.wsgi; print(gc.get_freeze_count(), 'accounts.api' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(DATA_DIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    frozen, views_loaded = done.stdout.split()
    assert int(frozen) > 50_000 and views_loaded == "True"


def test_a_worker_freezes_its_start_up_heap_in_each_process_that_runs_tasks(tmp_path) -> None:
    """project.celery freezes the heap in each prefork child (worker_process_init) and in the worker itself
    (worker_ready: the solo pool runs tasks there): full collections no longer rescan it during checks; and it
    widens the young generation, so most of a check's objects are freed before any collection sees them."""
    import subprocess
    import sys

    from tests.processes import ROOT, clean_env

    code = ("import gc, project.celery; from celery.signals import worker_process_init, worker_ready; "
            "default = gc.get_threshold()[0]; "
            "worker_process_init.send(sender=None); child = gc.get_freeze_count(); gc.unfreeze(); "
            "worker_ready.send(sender=None); "
            "print(default, child, gc.get_freeze_count(), gc.get_threshold()[0])")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(DATA_DIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    default, child, worker, young = (int(n) for n in done.stdout.split())
    assert child > 50_000 and worker > 50_000
    assert (default, young) == (700, 20_000)  # the young generation widened (project.heap), from Python's default
