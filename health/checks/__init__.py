from health.checks.base import Finding, HealthCheck, Status
from health.checks.builtin import BUILTIN

__all__ = ["BUILTIN", "Finding", "HealthCheck", "Status"]
