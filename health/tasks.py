from celery import current_task, shared_task
from django.utils import timezone

from health.models import Heartbeat
from health.runner import health_report


@shared_task(name="health.tasks.heartbeat_record")
def heartbeat_record() -> str:
    """Record that beat scheduled this and a worker ran it."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"last_seen": timezone.now(), "worker": current_task.request.hostname or ""}
    )
    return "recorded"


@shared_task(name="health.watch")
def health_watch() -> str:
    """Beat: run the checks; components that fail raise alerts, and recover by resolving them."""
    from alerts.models import Severity
    from alerts.services import alert_raise, alert_resolve

    report = health_report(use_cache=False)
    for component in report.components:
        if component.status in ("unhealthy", "degraded") and not component.message.startswith("a generated key"):
            severity = Severity.CRITICAL if component.status == "unhealthy" else Severity.WARNING
            alert_raise(kind="health.component", severity=severity, key=component.name,
                        summary=f"{component.name} is {component.status}: {component.message}")  # fmt: skip
        else:
            alert_resolve(kind="health.component", key=component.name)
    return report.status
