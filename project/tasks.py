import socket

from celery import shared_task


@shared_task(name="project.ping")
def ping() -> dict[str, str]:
    """Answers from the worker that ran it; proves the broker round trip."""
    from celery import current_task

    return {"pong": "pong", "worker": current_task.request.hostname or socket.gethostname()}
