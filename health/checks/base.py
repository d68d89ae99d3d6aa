"""A health check is a small class: a name, critical or not, a timeout, and run()."""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Finding:
    """What one check found: ok or not, and a message for people (never a secret)."""

    ok: bool
    message: str
    details: dict[str, object] = field(default_factory=dict)
    warn: bool = False  # ok, but worth a look: counts as degraded


class HealthCheck(abc.ABC):
    name: str = ""
    critical: bool = True
    timeout: float = 3.0

    @abc.abstractmethod
    def run(self) -> Finding:
        """Look once; raise or return a failing Finding when something is wrong."""
