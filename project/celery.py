import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

from project.heap import worker_heap_settle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("tgfleet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from project import celery_metrics  # noqa: E402,F401 - task metrics for every worker and publisher


@worker_process_init.connect  # each prefork child, once forked
@worker_ready.connect  # the worker itself (the solo and thread pools run tasks in it)
def heap_freeze(**_kwargs) -> None:
    """A worker's start-up heap (Django, the task modules, Telethon's thousands of TL classes) lives as long as the
    process: take it out of the collector's sight. A check allocates many short-lived objects, so full collections
    came often, and each rescanned all of it: a quarter of a worker's CPU per check before this. The young generation
    is widened too (project.heap)."""
    worker_heap_settle()


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(task=None, **_kwargs) -> None:
    """Between tasks as Django does between requests: a connection past DATABASE_CONN_MAX_AGE, left in a bad state or
    with errors it cannot recover from is closed, and the rest kept (settings.CELERY_DB_REUSE_MAX turns Celery's own
    close-every-task off). Not for a task run eagerly, in its caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
