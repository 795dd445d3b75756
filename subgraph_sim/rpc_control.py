"""Run-time state of the JSON-RPC face: its head, provider limits, injected faults, counters.

Changed while the server runs through `POST /_sim/rpc` (the same pattern as
`/_sim/control` for the subgraphs), so a drill can make a healthy node strict, flaky or
reorganised and back.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from subgraph_sim.logstore import ChainLogStore

# Faults that answer the whole HTTP request, and faults that answer one JSON-RPC call.
HTTP_FAULTS = ("429", "503", "timeout")
CALL_FAULTS = ("internal", "header_not_found")
RPC_FAULT_MODES = HTTP_FAULTS + CALL_FAULTS
# How an over-wide block range is refused, after providers that answer that way.
BLOCK_RANGE_STYLES = ("too_wide", "exceed", "http413")
# How an answer over the result cap is refused: Infura's -32005 with a range that fits, the
# same without a range, Alchemy's "Log response size exceeded" with one.
RESULT_STYLES = ("infura", "plain", "alchemy")

SETTINGS = (
    "latency_ms",
    "max_block_range",
    "block_range_style",
    "max_results",
    "result_style",
    "fault_rate",
    "fault_modes",
    "fault_seed",
    "fail_next",
    "retry_after_seconds",
    "timeout_ms",
    "block_timestamps",
    "serve_removed",
    "head_block",
    "live",
)


class RpcControl:
    def __init__(
        self,
        store: ChainLogStore,
        *,
        latency_ms: float = 0.0,
        head_block: int | None = None,
        live: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self._head_base, self._anchor, self.live = 0, clock(), False
        self._initial: dict[str, Any] = {
            "latency_ms": latency_ms,
            "max_block_range": None,
            "block_range_style": "too_wide",
            "max_results": None,
            "result_style": "infura",
            "fault_rate": 0.0,
            "fault_modes": list(RPC_FAULT_MODES),
            "fault_seed": 0,
            "fail_next": [],
            "retry_after_seconds": 1,
            "timeout_ms": 10_000.0,
            "block_timestamps": True,
            "serve_removed": False,
            "head_block": store.head_block if head_block is None else head_block,
            "live": live,
        }
        self.last_request = clock()
        self.reset()

    def reset(self) -> None:
        """Back to the starting settings, counters zeroed. Reorgs stay: they changed the data."""
        for key, value in self._initial.items():
            setattr(self, key, list(value) if isinstance(value, list) else value)
        self._rng = random.Random(self.fault_seed)
        self.counters: Counter[str] = Counter()

    @property
    def head_block(self) -> int:
        """The chain's head; in live mode one block further every block time of the clock."""
        if not self.live:
            return self._head_base
        elapsed = self.clock() - self._anchor
        return self._head_base + int(elapsed / self.store.chain.block_time)

    @head_block.setter
    def head_block(self, number: int) -> None:
        self._head_base, self._anchor = int(number), self.clock()

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply settings and one-shot actions (`reset`, `advance_blocks`, `reorg`); returns
        what the actions did."""
        unknown = set(changes) - {*SETTINGS, "reset", "advance_blocks", "reorg"}
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        _check(changes)
        if changes.get("reset"):
            self.reset()
        if "live" in changes:
            self.head_block = self.head_block  # freeze (or anchor) the head before switching
        for key in SETTINGS:
            if key in changes:
                value = changes[key]
                setattr(self, key, list(value) if isinstance(value, list) else value)
        if "fault_seed" in changes:
            self._rng = random.Random(self.fault_seed)
        if changes.get("advance_blocks"):
            self.head_block += int(changes["advance_blocks"])
        done: dict[str, Any] = {}
        if changes.get("reorg"):
            reorg = changes["reorg"]
            done["reorg"] = self.store.reorg(
                self.head_block, int(reorg["depth"]), int(reorg.get("seed", 0))
            )
        return done

    def state(self) -> dict[str, Any]:
        return {
            **{key: getattr(self, key) for key in SETTINGS},
            "logs": self.store.log_count,
            "counters": dict(self.counters),
        }

    # ---- per request --------------------------------------------------------------------

    def admit(self) -> str | None:
        """Count a request; the fault to answer it with, if any (scripted ones first)."""
        self.last_request = self.clock()
        self.counters["requests"] += 1
        mode = None
        if self.fail_next:
            mode = self.fail_next.pop(0)
        elif self.fault_rate and self._rng.random() < self.fault_rate:
            mode = self._rng.choice(self.fault_modes)
        if mode is not None:
            self.counters["faults"] += 1
            self.counters[f"faults.{mode}"] += 1
        return mode

    def pick(self, count: int) -> int:
        """Which of `count` calls in a batch a call-level fault hits."""
        return self._rng.randrange(count)


def _check(changes: dict[str, Any]) -> None:
    for key in ("fault_modes", "fail_next"):
        bad = [m for m in changes.get(key, []) if m not in RPC_FAULT_MODES]
        if bad:
            raise ValueError(f"{key}: {bad} not in {list(RPC_FAULT_MODES)}")
    if "fault_modes" in changes and not changes["fault_modes"]:
        raise ValueError("fault_modes must not be empty")
    if changes.get("block_range_style", "too_wide") not in BLOCK_RANGE_STYLES:
        raise ValueError(f"block_range_style must be one of {list(BLOCK_RANGE_STYLES)}")
    if changes.get("result_style", "infura") not in RESULT_STYLES:
        raise ValueError(f"result_style must be one of {list(RESULT_STYLES)}")
    for key in ("max_block_range", "max_results"):
        value = changes.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{key} must be a positive integer or null")
    reorg = changes.get("reorg")
    if reorg and (not isinstance(reorg, dict) or int(reorg.get("depth", 0)) < 1):
        raise ValueError('reorg must be {"depth": K >= 1, "seed": S}')
