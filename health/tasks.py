from celery import current_task, shared_task
from django.utils import timezone

from health.models import ComponentState, Heartbeat
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
    components_record(report)
    for component in report.components:
        if component.status in ("unhealthy", "degraded") and not component.message.startswith("a generated key"):
            severity = Severity.CRITICAL if component.status == "unhealthy" else Severity.WARNING
            alert_raise(kind="health.component", severity=severity, key=component.name,
                        summary=f"{component.name} is {component.status}: {component.message}")  # fmt: skip
        else:
            alert_resolve(kind="health.component", key=component.name)
    return report.status


def components_record(report) -> None:
    """Keep each component's result where every web process reads it for /metrics (a cache may be empty)."""
    now = timezone.now()
    rows = [ComponentState(name=c.name, status=c.status, message=c.message[:500], checked_at=now)
            for c in report.components]  # fmt: skip
    ComponentState.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["name"], update_fields=["status", "message", "checked_at"],
    )  # fmt: skip
    ComponentState.objects.exclude(name__in=[c.name for c in report.components]).delete()
