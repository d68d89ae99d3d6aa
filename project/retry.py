"""Retry policies shared by account checks and alert delivery: fixed, linear or exponential with jitter."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class Backoff(enum.StrEnum):
    FIXED = "fixed"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True)
class RetryPolicy:
    backoff: Backoff
    base_seconds: float
    max_seconds: float
    max_attempts: int
    jitter: float = 0.0  # share of the delay drawn at random, 0..1

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.max_seconds < self.base_seconds:
            raise ValueError("need 0 < base_seconds <= max_seconds")
        if self.max_attempts < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("need max_attempts >= 1 and 0 <= jitter <= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        if self.backoff is Backoff.FIXED:
            raw = self.base_seconds
        elif self.backoff is Backoff.LINEAR:
            raw = self.base_seconds * attempt
        else:
            raw = self.base_seconds * 2 ** min(attempt - 1, 32)
        capped = min(raw, self.max_seconds)
        if not self.jitter:
            return capped
        spread = capped * self.jitter
        return capped - spread + (rng or random).random() * spread  # "equal jitter": never below 1-jitter

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
