"""The Polygon JSON-RPC face: `POST /rpc` answers `eth_chainId`, `eth_blockNumber`,
`eth_getLogs`, `eth_getBlockByNumber` and batches of them as a node behind a provider does.

Filters are applied as geth applies them: `address` one address or a list (any of them);
`topics` up to four positions, each null (anything), a topic, or a list of topics (any of
them), and a log with fewer topics than the filter has positions never matches; `fromBlock`
and `toBlock` hex numbers or tags (`latest`, `pending`, `safe`, `finalized` mean the head,
`earliest` block 0), `toBlock` capped at the head. Blocks past the head are `null`.
Provider limits, faults and reorgs come from `RpcControl` (`POST /_sim/rpc`); with
`serve_removed`, logs of the last reorg's orphaned blocks come back flagged `removed: true`,
as a node answers a reader that raced the reorg.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from subgraph_sim.rpc_control import CALL_FAULTS, RpcControl

POLYGON_CHAIN_ID = "0x89"
_HEX_QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$", re.IGNORECASE)
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$", re.IGNORECASE)
_TOPIC = re.compile(r"^0x[0-9a-f]{64}$", re.IGNORECASE)
_HEAD_TAGS = {"latest", "pending", "safe", "finalized"}
MAX_TOPICS = 4


class RpcError(Exception):
    def __init__(self, code: int, message: str, status: int = 200):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class RpcFace:
    def __init__(self, control: RpcControl) -> None:
        self.control = control
        self.store = control.store

    def routes(self) -> list[Route]:
        return [
            Route("/rpc", self.endpoint, methods=["POST"]),
            Route("/_sim/rpc", self.control_endpoint, methods=["GET", "POST"]),
        ]

    # ---- HTTP ---------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        control = self.control
        fault = control.admit()
        if control.latency_ms:
            await asyncio.sleep(control.latency_ms / 1000)
        if fault == "timeout":
            await asyncio.sleep(control.timeout_ms / 1000)
            return Response(b"504 Gateway Time-out", 504, media_type="text/html")
        if fault == "429":
            return _json(
                _error(None, -32005, "rate limit exceeded: too many requests"),
                429,
                {"Retry-After": str(control.retry_after_seconds)},
            )
        if fault == "503":
            return Response(b"503 Service Temporarily Unavailable", 503, media_type="text/html")
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _json(_error(None, -32700, "parse error"))
        try:
            if not isinstance(payload, list):
                return _json(self._answer(payload, fault))
            if not payload:
                return _json(_error(None, -32600, "empty batch"))
            hit = control.pick(len(payload)) if fault in CALL_FAULTS else None
            return _json(
                [self._answer(call, fault if i == hit else None) for i, call in enumerate(payload)]
            )
        except RpcError as exc:  # a limit some providers answer at the HTTP level
            return Response(exc.message.encode(), exc.status, media_type="text/plain")

    async def control_endpoint(self, request: Request) -> Response:
        done: dict[str, Any] = {}
        if request.method == "POST":
            try:
                done = self.control.update(orjson.loads(await request.body() or b"{}"))
            except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({**self.control.state(), **done})

    # ---- JSON-RPC -----------------------------------------------------------------------

    def _answer(self, call: Any, fault: str | None) -> dict[str, Any]:
        if not isinstance(call, dict) or call.get("jsonrpc") != "2.0" or "method" not in call:
            request_id = call.get("id") if isinstance(call, dict) else None
            return _error(request_id, -32600, "invalid request")
        request_id, method = call.get("id"), call["method"]
        self.control.counters[f"calls.{method}"] += 1
        if fault == "internal":
            return _error(request_id, -32603, "internal error")
        if fault == "header_not_found":
            return _error(request_id, -32000, "header not found")
        handler = self._methods().get(method)
        if handler is None:
            message = f"the method {method} does not exist/is not available"
            return _error(request_id, -32601, message)
        params = call.get("params") or []
        if not isinstance(params, list):
            return _error(request_id, -32602, "invalid params: expected an array")
        try:
            result = handler(params)
        except RpcError as exc:
            if exc.status != 200:
                raise
            return _error(request_id, exc.code, exc.message)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _methods(self) -> dict[str, Any]:
        return {
            "eth_chainId": lambda params: POLYGON_CHAIN_ID,
            "eth_blockNumber": lambda params: hex(self.control.head_block),
            "eth_getBlockByNumber": self._get_block_by_number,
            "eth_getLogs": self._get_logs,
        }

    def _block_number(self, value: Any, position: int) -> int:
        head = self.control.head_block
        if value is None:
            return head
        if not isinstance(value, str):
            raise RpcError(-32602, f"invalid argument {position}: block number must be a string")
        if value in _HEAD_TAGS:
            return head
        if value == "earliest":
            return 0
        if not _HEX_QUANTITY.match(value):
            raise RpcError(-32602, f"invalid argument {position}: hex string without 0x prefix")
        return int(value, 16)

    def _get_block_by_number(self, params: list[Any]) -> dict[str, Any] | None:
        if not params:
            raise RpcError(-32602, "missing value for required argument 0")
        number = self._block_number(params[0], 0)
        if number > self.control.head_block:
            return None
        return self.store.header(number)

    def _get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        if not params or not isinstance(params[0], dict):
            raise RpcError(-32602, "missing value for required argument 0")
        query = params[0]
        if query.get("blockHash") is not None:
            raise RpcError(-32602, "invalid argument 0: blockHash filters are not served here")
        lo = self._block_number(query.get("fromBlock"), 0)
        hi = self._block_number(query.get("toBlock"), 0)
        if lo > hi:
            raise RpcError(-32000, "invalid block range params")
        addresses = _addresses(query.get("address"))
        topics = _topics(query.get("topics"))
        self._check_range(lo, hi)
        hi = min(hi, self.control.head_block)
        matched = list(_matching(self.store.iter_logs(lo, hi), addresses, topics))
        self._check_results(lo, hi, matched)
        if self.control.serve_removed:
            orphaned = [o for o in self.store.orphaned if lo <= int(o["blockNumber"], 16) <= hi]
            matched = sorted(
                [*matched, *_matching(orphaned, addresses, topics)],
                key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)),
            )
        self.control.counters["logs_served"] += len(matched)
        if not self.control.block_timestamps:
            return [{k: v for k, v in log.items() if k != "blockTimestamp"} for log in matched]
        return matched

    # ---- provider limits ----------------------------------------------------------------

    def _check_range(self, lo: int, hi: int) -> None:
        limit = self.control.max_block_range
        if limit is None or hi - lo + 1 <= limit:
            return
        self.control.counters["limits.block_range"] += 1
        style = self.control.block_range_style
        if style == "http413":
            raise RpcError(-32000, "413 Request Entity Too Large", status=413)
        if style == "exceed":
            raise RpcError(-32000, f"exceed maximum block range: {limit}")
        raise RpcError(-32000, "block range is too wide")

    def _check_results(self, lo: int, hi: int, matched: list[dict[str, Any]]) -> None:
        limit = self.control.max_results
        if limit is None or len(matched) <= limit:
            return
        self.control.counters["limits.results"] += 1
        # The widest range from `lo` whose logs fit, as Infura and Alchemy suggest one.
        last_fitting = int(matched[limit]["blockNumber"], 16) - 1
        fits = f"[{hex(lo)}, {hex(max(lo, last_fitting))}]"
        style = self.control.result_style
        if style == "alchemy":
            raise RpcError(
                -32602,
                "Log response size exceeded. You can make eth_getLogs requests with up to a 2K "
                "block range and no limit on the response size, or you can request any block "
                f"range with a cap of 10K logs in the response. Based on your parameters, this "
                f"block range should work: {fits}",
            )
        message = f"query returned more than {limit} results"
        if style == "infura":
            message += f". Try with this block range {fits}."
        raise RpcError(-32005, message)


def _addresses(value: Any) -> set[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise RpcError(-32602, "invalid argument 0: address must be a string or an array")
    for item in items:
        if not isinstance(item, str) or not _ADDRESS.match(item):
            length = len(item) - 2 if isinstance(item, str) else 0
            raise RpcError(
                -32602,
                f"invalid argument 0: hex string has length {length}, want 40 for common.Address",
            )
    return {item.lower() for item in items} or None


def _topics(value: Any) -> list[set[str] | None]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RpcError(-32602, "invalid argument 0: topics must be an array")
    if len(value) > MAX_TOPICS:
        raise RpcError(-32602, "invalid argument 0: exceed max topics")
    positions: list[set[str] | None] = []
    for position in value:
        items = [] if position is None else [position] if isinstance(position, str) else position
        if not isinstance(items, list):
            raise RpcError(-32602, "invalid argument 0: bad topic position")
        for item in items:
            if item is not None and (not isinstance(item, str) or not _TOPIC.match(item)):
                raise RpcError(-32602, f"invalid argument 0: invalid topic {item!r}")
        wanted = {item.lower() for item in items if item is not None}
        positions.append(wanted or None)  # an empty list, like null, matches anything
    return positions


def _matching(
    logs: Iterable[dict[str, Any]], addresses: set[str] | None, topics: list[set[str] | None]
) -> Iterable[dict[str, Any]]:
    for log in logs:
        if addresses is not None and log["address"] not in addresses:
            continue
        log_topics = log["topics"]
        if len(topics) > len(log_topics):
            continue
        if all(wanted is None or log_topics[i] in wanted for i, wanted in enumerate(topics)):
            yield log
