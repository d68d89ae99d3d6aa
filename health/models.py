from django.db import models


class Heartbeat(models.Model):
    """When a periodic job last ran on a worker; its age tells whether beat and workers are alive."""

    name = models.CharField(max_length=64, primary_key=True)
    last_seen = models.DateTimeField()
    worker = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen:%Y-%m-%d %H:%M:%S}"


class ComponentState(models.Model):
    """Each component's latest result from the health watch: what /metrics exports, in every process."""

    name = models.CharField(max_length=64, primary_key=True)
    status = models.CharField(max_length=16)
    message = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"
