"""A Polygon JSON-RPC client that retries what is transient, splits what is too big, and
fails at once, by name, on the rest.

Providers differ in how they say no, so every answer is classified by what it means:
- transient: HTTP 408/429 (honouring `Retry-After`) and 5xx, timeouts, refused or dropped
  connections, a JSON-RPC -32603 internal error, "header not found" and similar answers of a
  node that lags behind its load balancer: retried with exponential backoff and jitter;
- too big: -32005 "query returned more than 10000 results", "block range is too wide",
  "exceed maximum block range: N", "range too large", Alchemy's "Log response size exceeded
  ... this block range should work: [0x.., 0x..]", HTTP 413: raised as `RangeTooLarge`
  (with the provider's suggested span when the message has one) for the caller to split;
- permanent: a URL scheme other than http(s), a host name that does not resolve, HTTP 4xx
  other than 408/413/429, invalid params, unknown methods: `ChainRpcError` on the first answer.

Error messages name the endpoint as scheme, host and port plus a path whose long segments
are masked, so an API key carried in the URL (Alchemy, Infura) never reaches a log line;
keys passed as a bearer token or an extra header are never printed at all.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson

from orchestration.lib.errors import RequestRejected, body_head, unresolved_host
from orchestration.lib.retries import Retrier, Retryable, retry_after

log = logging.getLogger(__name__)

T = TypeVar("T")

# JSON-RPC codes a healthy request can get from a node having a bad moment.
_RETRYABLE_CODES = {-32603, -32002}
# Invalid request, unknown method, invalid params: asking again gets the same answer.
_PERMANENT_CODES = {-32700, -32600, -32601, -32602}
# Messages that mean "ask again" whatever the code (most come with the catch-all -32000).
_RETRYABLE_MARKERS = (
    "header not found",  # a node behind its load balancer
    "block not found",
    "unknown block",
    "timeout",
    "timed out",
    "try again",
    "temporarily",
    "busy",
    "rate limit",
    "too many requests",
    "capacity",
    "request count exceeded",
)
# Messages that mean "this eth_getLogs asks for too much": split the range.
_RANGE_MARKERS = (
    "query returned more than",
    "block range",
    "range too large",
    "range is too large",
    "log response size exceeded",
    "too many blocks",
    "range limit",
    "response size should not",
    "logs matched by query exceeds",
)
_RESULT_MARKERS = ("result", "response size", "logs matched")
_RATE_MARKERS = ("rate limit", "request count exceeded", "too many requests")
_HEX_RANGE = re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]", re.IGNORECASE)
# "exceed maximum block range: 50000", "block range limit (2000)", "limited to a 10,000 range",
# "up to a 2K block range", "block range should not exceed 3000".
_SPAN_NUMBER = re.compile(
    r"(?:maximum block range|range limit|limited to an?|up to an?|should not exceed|max(?:imum)? "
    r"(?:is|of))\D{0,12}?(\d[\d,_]*)\s*(k\b)?",
    re.IGNORECASE,
)
_RESULT_CAP = re.compile(r"more than (\d[\d,_]*) results", re.IGNORECASE)


class ChainRpcError(RuntimeError):
    """A JSON-RPC call failed for good: a permanent error, or retries spent."""


class ChainRpcRejected(ChainRpcError, RequestRejected):
    """A permanent error: the same request would get the same answer (URL, host, params)."""


class RangeTooLarge(Exception):
    """The provider refused an `eth_getLogs` range as too wide or too full.

    `span` is the number of blocks the provider suggested, when its message had one;
    `result_cap` the number of logs it answers at most, when the message said so;
    `by_results` tells a cap on the answer's size (it depends on how busy the blocks are)
    from a cap on the block range (the same everywhere).
    """

    def __init__(
        self,
        message: str,
        span: int | None = None,
        result_cap: int | None = None,
        by_results: bool = True,
    ):
        super().__init__(message)
        self.span = span
        self.result_cap = result_cap
        self.by_results = by_results


@dataclass(frozen=True)
class Block:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def redact_url(url: str) -> str:
    """The endpoint as error messages show it: no credentials, no query, long segments masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    segments = ["***" if len(s) >= 16 else s for s in parts.path.split("/")]
    return f"{parts.scheme}://{host}{'/'.join(segments)}"


def classify_error(error: Any) -> Exception:
    """The exception a JSON-RPC error object stands for (returned, not raised)."""
    if not isinstance(error, Mapping):
        return ChainRpcRejected(f"JSON-RPC error: {str(error)[:300]}")
    code = error.get("code")
    message = str(error.get("message", error))
    text = message.lower()
    if any(m in text for m in _RATE_MARKERS):
        return Retryable(f"JSON-RPC error {code}: {message}")
    # geth's answer to fromBlock > toBlock names the block range too, but no split helps it.
    if "invalid block range" in text:
        return ChainRpcRejected(f"JSON-RPC error {code}: {message}")
    if any(m in text for m in _RANGE_MARKERS) or code == -32005:
        return RangeTooLarge(
            f"JSON-RPC error {code}: {message}",
            suggested_span(message),
            _result_cap(message),
            by_results=any(m in text for m in _RESULT_MARKERS),
        )
    if code in _PERMANENT_CODES:
        return ChainRpcRejected(f"JSON-RPC error {code}: {message}")
    if code in _RETRYABLE_CODES or any(m in text for m in _RETRYABLE_MARKERS):
        return Retryable(f"JSON-RPC error {code}: {message}")
    return ChainRpcRejected(f"JSON-RPC error {code}: {message}")


def suggested_span(message: str) -> int | None:
    """Blocks per request a provider's limit message suggests, if it suggests any."""
    pair = _HEX_RANGE.search(message)
    if pair:
        lo, hi = int(pair.group(1), 16), int(pair.group(2), 16)
        return hi - lo + 1 if hi >= lo else None
    number = _SPAN_NUMBER.search(message)
    if number:
        value = int(re.sub(r"[,_]", "", number.group(1)))
        return value * 1000 if number.group(2) else value
    return None


def _result_cap(message: str) -> int | None:
    match = _RESULT_CAP.search(message)
    return int(re.sub(r"[,_]", "", match.group(1))) if match else None


def _to_hex(number: int) -> str:
    return hex(number)


class ChainClient:
    """JSON-RPC 2.0 over HTTP to one endpoint; safe to share between threads."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff_base: float = 0.25,
        backoff_max: float = 20.0,
        retry_after_max: float = 60.0,
        max_connections: int = 16,
    ):
        scheme = urlsplit(url).scheme
        self.endpoint = redact_url(url)
        if scheme not in ("http", "https"):
            raise ChainRpcRejected(
                f"Polygon RPC {self.endpoint}: unsupported URL scheme {scheme!r} (http or https)"
            )
        self.url = url
        request_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            request_headers["Authorization"] = f"Bearer {api_key}"
        request_headers.update(headers or {})
        self._http = httpx.Client(
            headers=request_headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.requests_sent = 0
        self._retrier = Retrier(
            log,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
        )

    @property
    def retries(self) -> int:
        return self._retrier.retries

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- calls --------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def get_logs(
        self,
        addresses: Sequence[str],
        topics: Sequence[Any],
        from_block: int,
        to_block: int,
    ) -> list[dict[str, Any]]:
        """One `eth_getLogs` call, as the node answers it.

        `topics` is the node's topic filter: position 0 a list of topic0s (any of them),
        further positions None (any), a topic, or a list of topics. Raises `RangeTooLarge`
        when the provider refuses the range; nothing is split here.
        """
        params = {
            "address": [a.lower() for a in addresses],
            "topics": [_topic_position(t) for t in topics],
            "fromBlock": _to_hex(from_block),
            "toBlock": _to_hex(to_block),
        }
        return self.call("eth_getLogs", [params])

    def get_blocks(
        self, numbers: Iterable[int], *, batch_size: int = 100, workers: int = 4
    ) -> dict[int, Block]:
        """Headers of many blocks through JSON-RPC batches of `eth_getBlockByNumber`."""
        wanted = sorted(set(numbers))
        batches = [wanted[i : i + batch_size] for i in range(0, len(wanted), batch_size)]
        blocks: dict[int, Block] = {}
        if not batches:
            return blocks
        threads = min(workers, len(batches))
        with ThreadPoolExecutor(threads, thread_name_prefix="rpc-blocks") as pool:
            for found in pool.map(self._block_batch, batches):
                blocks.update(found)
        return blocks

    def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call with retries; the `result`."""

        def attempt() -> Any:
            request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
            answer = self._post(request)
            if not isinstance(answer, dict):
                raise Retryable(f"answer is not a JSON-RPC object: {str(answer)[:200]}")
            if answer.get("error") is not None:
                raise self._named(classify_error(answer["error"]), method)
            if "result" not in answer:
                raise Retryable(f"answer without result: {str(answer)[:200]}")
            return answer["result"]

        return self._with_retries(attempt, method)

    # ---- batches ------------------------------------------------------------------------

    def _block_batch(self, numbers: list[int]) -> dict[int, Block]:
        """One batch, retrying only the elements that failed; halves when it is too large."""
        pending = list(numbers)
        blocks: dict[int, Block] = {}

        def attempt() -> dict[int, Block]:
            requests = {next(self._ids): n for n in pending}
            body = [
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "method": "eth_getBlockByNumber",
                    "params": [_to_hex(n), False],
                }
                for request_id, n in requests.items()
            ]
            answer = self._post(body)
            if isinstance(answer, dict) and answer.get("error") is not None:
                # The whole batch refused, e.g. "batch size too large".
                raise self._named(classify_error(answer["error"]), "eth_getBlockByNumber batch")
            if not isinstance(answer, list):
                raise Retryable(f"batch answer is not a JSON array: {str(answer)[:200]}")
            failures: list[str] = []
            for item in answer:
                number = requests.get(item.get("id")) if isinstance(item, dict) else None
                if number is None:
                    continue
                if item.get("error") is not None:
                    error = classify_error(item["error"])
                    if not isinstance(error, Retryable):
                        raise self._named(error, f"eth_getBlockByNumber({number})")
                    failures.append(f"block {number}: {error}")
                elif item.get("result") is None:
                    # A node behind its balancer does not know the block yet.
                    failures.append(f"block {number}: not found")
                else:
                    blocks[number] = _block(item["result"])
            pending[:] = [n for n in pending if n not in blocks]
            if pending:
                missing = failures or [f"{len(pending)} blocks missing from the answer"]
                raise Retryable(f"{len(pending)} of {len(requests)} blocks failed: {missing[0]}")
            return blocks

        try:
            return self._with_retries(attempt, f"eth_getBlockByNumber x{len(numbers)}")
        except RangeTooLarge:
            if len(pending) == 1:
                raise ChainRpcRejected(
                    f"Polygon RPC {self.endpoint}: a batch of one eth_getBlockByNumber "
                    "is refused as too large"
                ) from None
            half = len(pending) // 2
            rest = self._block_batch(pending[:half])
            rest.update(self._block_batch(pending[half:]))
            return {**blocks, **rest}

    # ---- transport ----------------------------------------------------------------------

    def _named(self, error: Exception, what: str) -> Exception:
        """Permanent errors carry the endpoint and the call; the others stay as they are."""
        if isinstance(error, ChainRpcError):
            return type(error)(f"Polygon RPC {self.endpoint}: {what} failed: {error}")
        return error

    def _with_retries(self, attempt: Callable[[], T], what: str) -> T:
        return self._retrier.run(
            attempt,
            f"Polygon RPC {self.endpoint}: {what}",
            lambda spent: ChainRpcError(f"Polygon RPC {self.endpoint}: {what} {spent}"),
        )

    def _post(self, payload: Any) -> Any:
        """One HTTP exchange; the parsed JSON body, or the exception that classifies it."""
        with self._lock:
            self.requests_sent += 1
        try:
            response = self._http.post(self.url, content=orjson.dumps(payload))
        except httpx.TimeoutException as exc:
            raise Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            dns = unresolved_host(exc)
            if dns is not None:
                raise ChainRpcRejected(
                    f"Polygon RPC {self.endpoint}: the host name does not resolve ({dns})"
                ) from None
            raise Retryable(f"cannot connect: {exc}") from exc
        except httpx.UnsupportedProtocol as exc:
            raise ChainRpcRejected(f"Polygon RPC {self.endpoint}: {exc}") from None
        except httpx.TransportError as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        status, body = response.status_code, response.content
        if status == 413:
            raise RangeTooLarge(f"HTTP 413: {body_head(body)}")
        if status in (408, 429) or status >= 500:
            raise Retryable(
                f"HTTP {status}: {body_head(body)}", retry_after(response.headers, http_date=True)
            )
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            if status >= 400:
                raise ChainRpcRejected(
                    f"Polygon RPC {self.endpoint} answered HTTP {status}: {body_head(body)}"
                ) from None
            raise Retryable(f"HTTP {status}, body is not JSON: {body_head(body)}") from None
        if status >= 400:
            # Some providers send JSON-RPC errors with a 4xx: judge them by their content.
            error = answer.get("error") if isinstance(answer, dict) else None
            if not isinstance(error, dict):
                raise ChainRpcRejected(
                    f"Polygon RPC {self.endpoint} answered HTTP {status}: {body_head(body)}"
                )
        return answer


def _topic_position(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    return [t.lower() for t in value]


def _block(result: Mapping[str, Any]) -> Block:
    return Block(
        number=int(result["number"], 16),
        hash=result["hash"],
        parent_hash=result["parentHash"],
        timestamp=int(result["timestamp"], 16),
    )
