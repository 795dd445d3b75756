"""Response cache: Redis when REDIS_URL is set, an in-process TTL cache otherwise.

What is cached is the serialized JSON body, so a hit costs one lookup and no serialization.
Keys read `<prefix>:<version>:<kind>:<parts>`, for example
`polyboard:20260101T120000-1a2b3c4d:leaderboard:7d:<params_hash>`, where version is the
marts publication being served: a new publication changes every key at once, so nothing is
ever invalidated by scanning, and the old entries expire by their TTL.

With Redis, a near cache in the process keeps each body for `LOCAL_CACHE_TTL` seconds
(default 1; 0 turns it off), so a hot key costs one Redis round trip per second per process
instead of one per request. Keys carry the publication version, so the near copy is never
staler than Redis.

Stampedes: per process, one computation per key is in flight; concurrent requests for the
same key await it instead of querying the warehouse again.

Redis down (R3): a failed call is logged once, the cache is bypassed for
`redis_retry_seconds` (so requests do not each wait on a dead socket), then tried again;
responses keep coming from the warehouse meanwhile and caching resumes on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from api.config import Settings
from api.metrics import CACHE_ERRORS, CACHE_REQUESTS, CACHE_UP, MEMORY_CACHE_BYTES

log = logging.getLogger("polyboard.api.cache")

JOIN_GRACE_SECONDS = 0.05


class CacheBackend:
    name: str

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        raise NotImplementedError

    async def status(self) -> str:
        return "ok"

    async def close(self) -> None:
        return None


class MemoryCache(CacheBackend):
    """A TTL map bounded in bytes; the oldest writes go first when it is full.

    An entry costs its key and body plus `ENTRY_OVERHEAD` for the Python objects around them,
    so the bound follows what the process holds: bodies range from a few hundred bytes to
    tens of kilobytes (a 100-trader leaderboard page), and a bound by count did not bound memory.
    """

    name = "memory"
    # The ordered-dict slot, tuple and float (about 146 bytes under tracemalloc, CPython 3.11)
    # and the str and bytes object headers (49 and 33 bytes).
    ENTRY_OVERHEAD = 240

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def _cost(self, key: str, value: bytes) -> int:
        return len(key) + len(value) + self.ENTRY_OVERHEAD

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size_bytes -= self._cost(key, entry[1])

    def peek(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            self._drop(key)
            MEMORY_CACHE_BYTES.set(self.size_bytes)
            return None
        return value

    def put(self, key: str, value: bytes, ttl: float) -> None:
        cost = self._cost(key, value)
        if ttl <= 0 or cost > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = (time.monotonic() + ttl, value)
        self.size_bytes += cost
        while self.size_bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        MEMORY_CACHE_BYTES.set(self.size_bytes)

    async def get(self, key: str) -> bytes | None:
        return self.peek(key)

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self.put(key, value, ttl)


class RedisCache(CacheBackend):
    name = "redis"

    def __init__(self, url: str, retry_seconds: float = 5.0):
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No client-side retries: a dead Redis must cost one short timeout, then the breaker.
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=0.25,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._down = False
        CACHE_UP.set(1)

    def _available(self) -> bool:
        return not self._down or time.monotonic() >= self._down_until

    def _failed(self, op: str, exc: BaseException) -> None:
        CACHE_ERRORS.labels(op).inc()
        self._down_until = time.monotonic() + self.retry_seconds
        if not self._down:
            self._down = True
            CACHE_UP.set(0)
            # The URL may carry a password: name the error only.
            log.warning(
                "Redis unavailable (%s: %s); serving from the warehouse, retrying every %.0fs",
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )

    def _succeeded(self) -> None:
        if self._down:
            self._down = False
            CACHE_UP.set(1)
            log.warning("Redis is back; caching resumed")

    async def get(self, key: str) -> bytes | None:
        from redis.exceptions import RedisError

        if not self._available():
            return None
        try:
            value = await self.client.get(key)
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        self._succeeded()
        return value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        from redis.exceptions import RedisError

        if ttl <= 0 or not self._available():
            return
        try:
            await self.client.set(key, value, ex=ttl)
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("set", exc)
            return
        self._succeeded()

    async def status(self) -> str:
        from redis.exceptions import RedisError

        try:
            await self.client.ping()
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("ping", exc)
            return "down"
        self._succeeded()
        return "ok"

    async def close(self) -> None:
        await self.client.aclose()


def params_hash(params: dict) -> str:
    """A short stable digest of query parameters (sorted keys, canonical JSON)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ResponseCache:
    def __init__(
        self,
        backend: CacheBackend,
        prefix: str,
        version: Callable[[], str | None],
        local_ttl: float = 0.0,
        local_max_bytes: int = 16 * 1024 * 1024,
    ):
        self.backend = backend
        self.prefix = prefix
        self._version = version
        self._in_flight: dict[str, asyncio.Future[bytes | None]] = {}
        # Near cache in front of Redis for the hottest keys. Safe to keep without any
        # invalidation: a key names its publication version, and within one version a body
        # never changes, so the near copy can only be as fresh as Redis's.
        self.local_ttl = local_ttl
        self.local = MemoryCache(local_max_bytes) if local_ttl > 0 else None

    @staticmethod
    async def _join(kind, pending, compute):
        CACHE_REQUESTS.labels(kind, "coalesced").inc()
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if pending.cancelled() and task is not None and not task.cancelling():
                return await compute()
            raise

    def key(self, kind: str, *parts: str) -> str:
        return ":".join((self.prefix, self._version() or "none", kind, *parts))

    async def get_or_compute(
        self,
        kind: str,
        parts: tuple[str, ...],
        ttl: int,
        compute: Callable[[], Awaitable[bytes | None]],
    ) -> bytes | None:
        """The cached body for the key, else `compute()` once; None results are not cached."""
        key = self.key(kind, *parts)
        pending = self._in_flight.get(key)
        if pending is not None:
            return await self._join(kind, pending, compute)
        local = self.local
        if local is not None:
            cached = local.peek(key)
            if cached is not None:
                CACHE_REQUESTS.labels(kind, "local_hit").inc()
                return cached
        cached = await self.backend.get(key)
        if cached is not None:
            CACHE_REQUESTS.labels(kind, "hit").inc()
            if local is not None:
                local.put(key, cached, min(self.local_ttl, ttl))
            return cached
        pending = self._in_flight.get(key)  # started while we waited on the lookup
        if pending is not None:
            return await self._join(kind, pending, compute)

        CACHE_REQUESTS.labels(kind, "miss").inc()
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            value = await compute()
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not reported
            self._in_flight.pop(key, None)
            raise
        except BaseException:
            future.cancel()  # the computing request went away; the waiters compute themselves
            self._in_flight.pop(key, None)
            raise
        future.set_result(value)
        try:
            if value is not None:
                if self.local is not None and ttl > 0:
                    self.local.put(key, value, min(self.local_ttl, ttl))
                await self.backend.set(key, value, ttl)
        finally:
            # A lookup that missed just before the write lands may still be on its way back:
            # it joins the finished computation for a moment instead of starting another.
            asyncio.get_running_loop().call_later(JOIN_GRACE_SECONDS, self._forget, key, future)
        return value

    def _forget(self, key: str, future: asyncio.Future) -> None:
        if self._in_flight.get(key) is future:
            del self._in_flight[key]


def make_cache_backend(settings: Settings) -> CacheBackend:
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.redis_retry_seconds)
    return MemoryCache(settings.memory_cache_max_bytes)
