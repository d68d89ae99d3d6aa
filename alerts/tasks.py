from celery import shared_task
from django.core.cache import cache

from alerts.delivery import deliver_sweep

SWEEP_LOCK = "alerts:sweep-lock"
SWEEP_BUDGET_SECONDS = 45  # the lock outlives a sweep that died by at most a few seconds


@shared_task(name="alerts.deliver")
def deliver_task() -> dict[str, int]:
    """Sweep the outbox. One sweep at a time per cache; rows are claimed safely either way."""
    if not cache.add(SWEEP_LOCK, "1", timeout=SWEEP_BUDGET_SECONDS + 5):
        return {"skipped": 1}
    try:
        return vars(deliver_sweep(budget_seconds=SWEEP_BUDGET_SECONDS))
    finally:
        cache.delete(SWEEP_LOCK)
