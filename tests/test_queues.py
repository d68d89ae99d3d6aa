"""Queues by purpose: each kind of work goes to its own queue, so each can get its own workers and hosts."""

from __future__ import annotations

import pytest

from project.celery import app
from tests.compose_render import compose_config
from tests.test_compose import _dotenv


@pytest.mark.parametrize(("task", "queue"), [
    ("accounts.checks_batch", "checks"),
    ("accounts.check_job_batch", "checks"),
    ("accounts.deep_checks_batch", "deep"),
    ("accounts.import_run", "imports"),
    ("alerts.deliver", "alerts"),
    ("accounts.checks_dispatch", "celery"),
    ("accounts.deep_checks_dispatch", "celery"),
])  # fmt: skip
def test_each_kind_of_work_has_its_queue(task, queue) -> None:
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_a_worker_without_q_serves_every_queue_and_compose_runs_replicas_of_the_general_one() -> None:
    assert {q.name for q in app.conf.task_queues} == {"celery", "checks", "deep", "imports", "alerts"}
    services = compose_config(_dotenv())["services"]
    worker = services["worker"]
    assert "-Q celery,checks,deep,imports " in worker["command"] and worker["deploy"]["replicas"] >= 2
    assert "-Q alerts " in services["alerts-worker"]["command"]
