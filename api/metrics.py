"""Prometheus metrics of the API process (served at /metrics)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

CACHE_REQUESTS = Counter(
    "polyboard_cache_requests",
    "Cache lookups by kind of response and result (hit, miss, coalesced onto one in flight).",
    ["kind", "result"],
)
CACHE_ERRORS = Counter(
    "polyboard_cache_errors", "Cache operations that failed (Redis unreachable, timeouts).", ["op"]
)
CACHE_UP = Gauge("polyboard_cache_up", "1 when the cache backend answers, 0 while it is down.")
MEMORY_CACHE_BYTES = Gauge(
    "polyboard_memory_cache_bytes",
    "Bytes held by the in-process cache (the cache itself, or the near cache in front of Redis).",
)
LEADERBOARD_READS = Counter(
    "polyboard_leaderboard_reads",
    "Uncached leaderboard pages by source: the precomputed mart, or ranked on the fly.",
    ["source"],
)
SNAPSHOT_SWITCHES = Counter(
    "polyboard_publication_switches", "Times the API switched to a newer publication."
)
HTTP_REQUESTS = Histogram(
    "polyboard_http_request_duration_seconds",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class MetricsMiddleware:
    """Times every HTTP request, labelled by route template (bounded label values)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )
