"""A circuit breaker: fail at once while a dependency is known to be down, recover on its own.

Closed, every call goes through. A failure opens it: calls are refused for `retry_seconds`,
then one call is let through as a probe (and the next one `retry_seconds` later, and so on).
The probe's success closes the breaker; its failure keeps it open. There is no separate
half-open state to get stuck in: a probe that never reports (its request was cancelled) just
leaves the breaker open until the next probe.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("polyboard.api.breaker")


class Breaker:
    def __init__(self, name: str, retry_seconds: float):
        self.name = name
        self.retry_seconds = retry_seconds
        self.reason: str | None = None  # why it is open; None while closed
        self._next_try = 0.0

    @property
    def open(self) -> bool:
        return self.reason is not None

    def allow(self) -> bool:
        """True when a call may go through: closed, or open and due for a probe (then it is
        the probe, and the next one waits another `retry_seconds`)."""
        if self.reason is None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.retry_seconds
        return True

    def retry_in(self) -> float:
        return max(0.0, self._next_try - time.monotonic())

    def failed(self, exc: BaseException) -> None:
        self._next_try = time.monotonic() + self.retry_seconds
        if self.reason is None:
            log.warning(
                "%s unavailable (%s: %s); answering 503 at once, retrying every %.1fs",
                self.name,
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )
        self.reason = f"{type(exc).__name__}: {exc}".strip()

    def succeeded(self) -> None:
        if self.reason is not None:
            self.reason = None
            log.warning("%s is back", self.name)
