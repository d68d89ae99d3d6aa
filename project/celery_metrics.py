"""Celery task metrics from the workers: sent, started, succeeded, failed, retried, run time, queue wait.

With PROMETHEUS_MULTIPROC_DIR set, prefork children write their own files; the worker's main
process serves them merged on CELERY_METRICS_PORT and tidies up after children that exit.
"""

from __future__ import annotations

import logging
import os
import time

from celery import signals

from project.metrics import TASK_QUEUE_WAIT, TASK_RUNTIME, TASKS

logger = logging.getLogger(__name__)
_started: dict[str, float] = {}


@signals.before_task_publish.connect
def _sent(sender=None, headers=None, **kwargs) -> None:
    if headers is not None:
        headers["tgfleet_sent_at"] = time.time()
    TASKS.labels(sender or "unknown", "sent").inc()


@signals.task_prerun.connect
def _prerun(task_id=None, task=None, **kwargs) -> None:
    TASKS.labels(task.name, "started").inc()
    _started[task_id] = time.monotonic()
    sent_at = getattr(task.request, "tgfleet_sent_at", None) or (task.request.headers or {}).get("tgfleet_sent_at")
    if sent_at:
        TASK_QUEUE_WAIT.labels(task.name).observe(max(0.0, time.time() - float(sent_at)))


@signals.task_postrun.connect
def _postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_RUNTIME.labels(task.name).observe(time.monotonic() - started)
    if state == "SUCCESS":
        TASKS.labels(task.name, "succeeded").inc()


@signals.task_failure.connect
def _failure(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "failed").inc()


@signals.task_retry.connect
def _retry(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "retried").inc()


@signals.worker_init.connect
def _serve_metrics(**kwargs) -> None:
    port = int(os.environ.get("CELERY_METRICS_PORT", "0") or 0)
    if not port:
        return
    from prometheus_client import start_http_server

    from project.metrics import metrics_registry

    address = os.environ.get("CELERY_METRICS_ADDR", "127.0.0.1")
    try:
        start_http_server(port, addr=address, registry=metrics_registry(fleet=False))
    except OSError as exc:  # a taken port costs the metrics, never the worker
        logger.error("Worker metrics not served: %s:%s is unavailable (%s)", address, port, exc.strerror)
        return
    logger.info("Worker metrics on %s:%s", address, port)


@signals.worker_process_shutdown.connect
def _child_exit(pid=None, **kwargs) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
