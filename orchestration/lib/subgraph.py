"""A graph-node GraphQL client that retries what is transient and fails loudly on the rest.

graph-node reports most failures as HTTP 200 with an `errors` array; hosted services add
400/429/500/503 and, on Goldsky, a "surpassed your query allowance" body. Transient ones
(rate limits, 5xx, timeouts, indexing hiccups, connection errors) are retried with
exponential backoff and jitter, honouring `Retry-After`; a query the server rejects as
invalid is not retried. Neither is what a typo in the configuration causes: a URL that is
not http(s), a host name that does not exist, a 4xx other than 408/429 (a wrong path answers
404, often with an HTML body): those fail at once. When retries are spent the error names the
source, the query and the last failure, so an operator reading a failed run knows what to fix.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from orchestration.lib.errors import RequestRejected, body_head, requests_transport
from orchestration.lib.retries import Retrier, Retryable, retry_after

log = logging.getLogger(__name__)

# Messages of queries that can never succeed as written: retrying them only wastes time.
_PERMANENT_MARKERS = (
    "Cannot query field",
    "Unknown argument",
    "Unknown type",
    "Syntax Error",
    "must be between",
    "is not defined by type",
    "Variable ",
    "Expected value of type",
    "Expected type",
)


# Statuses worth another attempt; every other 4xx says the request itself is wrong.
_RETRYABLE_4XX = (408, 429)


class SubgraphError(RuntimeError):
    """A subgraph query failed for good."""


class SourceRejected(SubgraphError, RequestRejected):
    """The request can never succeed as configured (URL, host, path, query): retrying it,
    here or as a retried step, only delays the error the operator has to read."""


@dataclass(frozen=True)
class Meta:
    block_number: int
    block_timestamp: int
    has_indexing_errors: bool
    deployment: str


META_QUERY = "{ _meta { block { number timestamp } hasIndexingErrors deployment } }"


class SubgraphClient:
    def __init__(
        self,
        name: str,
        url: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff_base: float = 0.25,
        backoff_max: float = 20.0,
    ):
        self.name = name
        self.url = url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            # The Graph's gateway takes the key as a bearer token (Goldsky needs none).
            self._headers["Authorization"] = f"Bearer {api_key}"
        # One session per worker thread: keep-alive without sharing a pool across threads.
        self._local = threading.local()
        self.requests_sent = 0
        self._counter_lock = threading.Lock()
        self._retrier = Retrier(
            log, max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max
        )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            self._local.session = session
        return session

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one query and return its `data`, retrying transient failures."""
        return self._retrier.run(
            lambda: self._attempt(query, variables),
            f"{self.name}:",
            lambda spent: SubgraphError(
                f"{self.name} ({self.url}): query {spent}; "
                f"query: {_summary(query)} variables: {variables}"
            ),
        )

    @property
    def retries(self) -> int:
        return self._retrier.retries

    def _attempt(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        with self._counter_lock:
            self.requests_sent += 1
        with requests_transport(self.name, self.url, SourceRejected):
            response = self._session().post(
                self.url, json={"query": query, "variables": variables or {}}, timeout=self.timeout
            )
        body = response.content
        # Goldsky's allowance message is a short body, sometimes with a 200; data pages are not.
        if len(body) < 4096 and b"surpassed your query allowance" in body:
            raise Retryable(
                f"HTTP {response.status_code} rate limited: {body_head(body)}",
                retry_after(response.headers),
            )
        status = response.status_code
        if status in _RETRYABLE_4XX or status >= 500:
            raise Retryable(f"HTTP {status}: {body_head(body)}", retry_after(response.headers))
        try:
            payload = orjson.loads(body)  # pages are large: parsing is the client's main cost
        except orjson.JSONDecodeError as exc:
            if status >= 400:
                raise SourceRejected(
                    f"{self.name} ({self.url}) answered HTTP {status}: {body_head(body)}"
                ) from exc
            raise Retryable(f"HTTP {status}, body is not JSON: {body_head(body)}") from exc
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            message = "; ".join(str(e.get("message", e)) for e in errors)
            if any(marker in message for marker in _PERMANENT_MARKERS):
                raise SourceRejected(
                    f"{self.name} ({self.url}) rejected the query: {message}; "
                    f"query: {_summary(query)}"
                )
            raise Retryable(f"GraphQL error: {message}")
        if status >= 400:
            raise SourceRejected(
                f"{self.name} ({self.url}) answered HTTP {status}: {body_head(body)}"
            )
        data = payload.get("data") if isinstance(payload, dict) else None
        if data is None:
            raise Retryable(f"response without data: {body_head(body)}")
        return data

    def meta(self) -> Meta:
        meta = self.query(META_QUERY)["_meta"]
        return Meta(
            block_number=int(meta["block"]["number"]),
            block_timestamp=int(meta["block"].get("timestamp") or 0),
            has_indexing_errors=bool(meta["hasIndexingErrors"]),
            deployment=str(meta.get("deployment", "")),
        )


def _summary(query: str) -> str:
    return " ".join(query.split())[:200]
