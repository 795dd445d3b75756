"""A client of Polymarket's Gamma API (market metadata): keyset paging, retries, a polite pace.

Gamma is public and keyless. Cloudflare in front of it delays, then refuses (429), what goes
over its windows (`/markets` 300 and `/events` 500 requests per 10 s), so the client keeps to
`min_interval` seconds between requests (10 a second by default, a third of the tightest
window). Transient failures (429, 408, 5xx, connection errors, timeouts) are retried with
exponential backoff and jitter, honouring `Retry-After`, as the subgraph client does; what
the request itself causes (a 4xx such as 422 "order fields are not valid", a URL that is not
http(s), a host that does not resolve) fails at once with `GammaRejected`.

Listings use the keyset endpoints (`/markets/keyset`, `/events/keyset`): `limit` plus
`after_cursor=<next_cursor>`, every other filter re-sent unchanged; the last page has no
`next_cursor` (absent, null or ""). The legacy offset listings are deprecated and refuse
deep offsets. `/markets` without `closed` means `closed=false` and `/events` without it has
answered closed events only, so every listing here names `closed` and asks both ways.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import requests

from orchestration.lib.errors import RequestRejected, body_head, requests_transport
from orchestration.lib.retries import Retrier, Retryable, retry_after

log = logging.getLogger(__name__)

DEFAULT_GAMMA_API_URL = "https://gamma-api.polymarket.com"
MARKETS_PAGE = 100  # /markets/keyset cuts larger limits to 100 silently
EVENTS_PAGE = 500
TAGS_PAGE = 100
IDS_PER_REQUEST = 100  # condition_ids / id values per request (URLs over ~8 KB answer 414)
_RETRYABLE_4XX = (408, 429)


class GammaError(RuntimeError):
    """A Gamma request failed for good (retries spent, or an answer that cannot be paged)."""


class GammaRejected(GammaError, RequestRejected):
    """The request can never succeed as configured (URL, host, path, parameters)."""


class GammaClient:
    def __init__(
        self,
        base_url: str = DEFAULT_GAMMA_API_URL,
        *,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        min_interval: float = 0.1,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.min_interval = min_interval
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._pace = threading.Lock()
        self._next_slot = 0.0
        self.requests_sent = 0
        self._retrier = Retrier(
            log, max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GammaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- one request -------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path` and return its JSON, retrying what is transient."""
        return self._retrier.run(
            lambda: self._attempt(path, params),
            f"Gamma {path}:",
            lambda spent: GammaError(
                f"Gamma API ({self.base_url}) {path} {spent}; params: {params}"
            ),
        )

    @property
    def retries(self) -> int:
        return self._retrier.retries

    def _wait_for_slot(self) -> None:
        with self._pace:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.min_interval
        if slot > now:
            time.sleep(slot - now)

    def _attempt(self, path: str, params: dict[str, Any] | None) -> Any:
        self._wait_for_slot()
        self.requests_sent += 1
        url = self.base_url + path
        with requests_transport("Gamma API (GAMMA_API_URL)", self.base_url, GammaRejected):
            response = self._session.get(url, params=params, timeout=self.timeout)
        status = response.status_code
        if status in _RETRYABLE_4XX or status >= 500:
            raise Retryable(
                f"HTTP {status}: {body_head(response.content)}", retry_after(response.headers)
            )
        if status >= 400:
            raise GammaRejected(
                f"Gamma API ({self.base_url}) rejected {path} {params}: HTTP {status} "
                f"{body_head(response.content)}"
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise Retryable(
                f"HTTP {status}, body is not JSON: {body_head(response.content)}"
            ) from exc

    # ---- listings ----------------------------------------------------------------------

    def keyset(self, path: str, key: str, params: dict[str, Any], limit: int) -> Iterator[list]:
        """Pages of a keyset listing (`/markets/keyset` -> key "markets")."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = {**params, "limit": limit}
            if cursor is not None:
                query["after_cursor"] = cursor
            body = self.get(path, query)
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                raise GammaError(f"Gamma {path} answered without a {key!r} list: {body!r:.300}")
            yield body[key]
            cursor = body.get("next_cursor") or None
            if cursor is None or not body[key]:
                return
            if cursor in seen:  # a cursor that does not advance would page forever
                raise GammaError(f"Gamma {path} returned cursor {cursor!r} twice: paging stuck")
            seen.add(cursor)

    def markets(self, **filters: Any) -> Iterator[list[dict]]:
        """Pages of every market, open and closed, matching `filters`, with its tags."""
        for closed in ("false", "true"):
            params = {**filters, "closed": closed, "include_tag": "true"}
            yield from self.keyset("/markets/keyset", "markets", params, MARKETS_PAGE)

    def markets_by_condition(self, condition_ids: Iterable[str]) -> Iterator[list[dict]]:
        """Pages of the markets of these conditions (those Gamma has)."""
        for batch in _batches(condition_ids, IDS_PER_REQUEST):
            yield from self.markets(condition_ids=batch)

    def events(self, **filters: Any) -> Iterator[list[dict]]:
        """Pages of every event, open and closed, matching `filters`, with its tags."""
        for closed in ("false", "true"):
            params = {**filters, "closed": closed}
            yield from self.keyset("/events/keyset", "events", params, EVENTS_PAGE)

    def events_by_id(self, event_ids: Iterable[str]) -> Iterator[list[dict]]:
        for batch in _batches(event_ids, IDS_PER_REQUEST):
            yield from self.events(id=batch)

    def tags(self) -> Iterator[list[dict]]:
        """Pages of `/tags` (an offset listing, 100 a page)."""
        offset = 0
        while True:
            page = self.get("/tags", {"limit": TAGS_PAGE, "offset": offset})
            if not isinstance(page, list):
                raise GammaError(f"Gamma /tags answered without a list: {page!r:.300}")
            yield page
            if len(page) < TAGS_PAGE:
                return
            offset += TAGS_PAGE


def _batches(values: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
