"""Jobs in tests that run no Celery worker: the test does the worker's part by calling the very function the
task calls (accounts.tasks), then reads the job back through the API as a client would. Tests with real workers
(tests/test_check_workers.py) cover the queue itself."""

from __future__ import annotations

from accounts.models import Job, JobKind
from accounts.services.check_jobs import check_job_batch_run
from accounts.services.imports import import_job_run


def job_run_as_worker(client, response) -> dict:
    """The job a 202 answer named, run to its end as its worker would, then polled; returns the polled job."""
    assert response.status_code == 202, response.content
    body = response.json()
    assert not body["finished"] and body["poll"].endswith(f"/api/v1/jobs/{body['id']}")
    job = Job.objects.get(pk=body["id"])
    if job.kind == JobKind.IMPORT:
        import_job_run(str(job.pk))
    else:
        check_job_batch_run(str(job.pk), job.account_ids)
    polled = client.get(body["poll"])
    assert polled.status_code == 200, polled.content
    return polled.json()
