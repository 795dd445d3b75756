"""The retry loop the source clients share: a number of attempts, exponential backoff with
jitter, the server's `Retry-After` honoured, a warning before every retry.

An attempt raises `Retryable` for what is transient. Whatever else it raises (above all a
`RequestRejected`: a wrong URL, host or query) passes through at once, unretried. When the
attempts are spent the client's own error is raised, naming the last failure.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """A failure another attempt may not meet; `retry_after`: the server's wait, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Retrier:
    """How one client retries, and how many retries it has made; safe to share between threads.

    The n-th retry waits `backoff_base * 2**(n-1)` seconds, at most `backoff_max`, times a
    jitter in [0.5, 1); and at least the server's `Retry-After`, cut to `retry_after_max`
    when one is given.
    """

    def __init__(
        self,
        log: logging.Logger,
        *,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        retry_after_max: float | None = None,
    ):
        self.log = log
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.retries = 0
        self._lock = threading.Lock()

    def run(self, attempt: Callable[[], T], what: str, failed: Callable[[str], Exception]) -> T:
        """What `attempt()` returns, calling it again while it raises `Retryable`.

        `what` opens each warning ("Gamma /tags:"); when every attempt failed, the exception
        `failed("failed after N attempts; last error: ...")` is raised.
        """
        last_error = "no attempt made"
        for number in range(1, self.max_attempts + 1):
            try:
                return attempt()
            except Retryable as exc:
                last_error = str(exc)
                if number == self.max_attempts:
                    break
                delay = self._delay(number, exc.retry_after)
                with self._lock:
                    self.retries += 1
                self.log.warning(
                    "%s attempt %d/%d failed (%s); retrying in %.2fs",
                    what,
                    number,
                    self.max_attempts,
                    last_error,
                    delay,
                )
                time.sleep(delay)
        raise failed(f"failed after {self.max_attempts} attempts; last error: {last_error}")

    def _delay(self, number: int, retry_after: float | None) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (number - 1))
        delay *= 0.5 + random.random() / 2
        if retry_after is not None:
            if self.retry_after_max is not None:
                retry_after = min(retry_after, self.retry_after_max)
            delay = max(delay, retry_after)
        return delay


def retry_after(headers: Mapping[str, str], *, http_date: bool = False) -> float | None:
    """The seconds an answer's `Retry-After` header asks for: its number, or with `http_date`
    also the time until its date; None when it is absent or not understood."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        if not http_date:
            return None
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
