from celery import current_task, shared_task
from django.utils import timezone

from health.models import Heartbeat


@shared_task(name="health.tasks.heartbeat_record")
def heartbeat_record() -> str:
    """Record that beat scheduled this and a worker ran it."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"last_seen": timezone.now(), "worker": current_task.request.hostname or ""}
    )
    return "recorded"
