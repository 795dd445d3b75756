"""Run-time state of the simulator: the served head, injected faults, and counters.

Everything here can be changed while the server runs (`POST /_sim/control`), so drills can
switch a healthy source into a failing or stale one and back.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from subgraph_sim.dataset import Dataset

GOLDSKY_RATE_LIMIT_BODY = {
    "message": "Sorry, you've surpassed your query allowance. Please try again later."
}
TIMEOUT_MESSAGE = "The query was cancelled because it exceeded the time limit"
INDEXING_ERROR_MESSAGE = "indexing_error"
FAULT_MODES = ("429", "500", "503", "timeout", "indexing_error")

# Keys POST /_sim/control accepts besides the one-shot actions `advance_blocks` and `reset`.
SETTINGS = (
    "fault_rate",
    "fault_modes",
    "fault_seed",
    "latency_ms",
    "meta_lag_blocks",
    "has_indexing_errors",
    "rate_limit_rps",
    "head_block",
    "live",
    "gamma_fault_rate",
)


@dataclass(frozen=True)
class FaultResponse:
    mode: str
    status: int
    body: bytes
    headers: dict[str, str]
    media_type: str = "application/json"


def gamma_fault_response(mode: str) -> FaultResponse:
    """A fault as Gamma's Cloudflare front answers it (JSON-RPC and GraphQL bodies aside)."""
    if mode == "429":
        return FaultResponse(mode, 429, b"error code: 1015", {"Retry-After": "1"}, "text/plain")
    if mode == "503":
        return FaultResponse(mode, 503, b"Service Unavailable", {}, "text/plain")
    if mode == "timeout":
        return FaultResponse(mode, 504, b"Gateway Timeout", {}, "text/plain")
    return FaultResponse(
        mode, 500, orjson.dumps({"type": "internal error", "error": "internal server error"}), {}
    )


def fault_response(mode: str) -> FaultResponse:
    if mode == "429":
        return FaultResponse(mode, 429, orjson.dumps(GOLDSKY_RATE_LIMIT_BODY), {"Retry-After": "1"})
    if mode == "500":
        return FaultResponse(mode, 500, b"Internal Server Error", {}, "text/plain")
    if mode == "503":
        return FaultResponse(mode, 503, b"Service Unavailable", {}, "text/plain")
    message = TIMEOUT_MESSAGE if mode == "timeout" else INDEXING_ERROR_MESSAGE
    return FaultResponse(mode, 200, orjson.dumps({"errors": [{"message": message}]}), {})


class SimControl:
    def __init__(
        self,
        dataset: Dataset,
        *,
        fault_rate: float = 0.0,
        fault_modes: list[str] | tuple[str, ...] | None = None,
        fault_seed: int = 0,
        latency_ms: float = 0.0,
        meta_lag_blocks: int = 0,
        has_indexing_errors: bool = False,
        rate_limit_rps: float | None = None,
        head_block: int | None = None,
        live: bool = False,
        gamma_fault_rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dataset = dataset
        self.clock = clock
        self._initial = {
            "fault_rate": fault_rate,
            "fault_modes": list(fault_modes or FAULT_MODES),
            "fault_seed": fault_seed,
            "latency_ms": latency_ms,
            "meta_lag_blocks": meta_lag_blocks,
            "has_indexing_errors": has_indexing_errors,
            "rate_limit_rps": rate_limit_rps,
            "head_block": dataset.head_block if head_block is None else head_block,
            "live": live,
            "gamma_fault_rate": gamma_fault_rate,  # on top of fault_rate, Gamma only
        }
        self.started = clock()
        self.last_request = self.started
        self.reset()

    def reset(self) -> None:
        """Back to the settings the server started with; counters are zeroed too."""
        for key, value in self._initial.items():
            setattr(self, key, list(value) if isinstance(value, list) else value)
        self._check_modes(self.fault_modes)
        self._rng = random.Random(self.fault_seed)
        self._anchor = self.clock()
        self._recent: deque[float] = deque()
        self.counters: Counter[str] = Counter()

    # ---- head ---------------------------------------------------------------------------

    def head(self) -> int:
        """The newest indexed block; in live mode it advances with the clock."""
        if not self.live:
            return self.head_block
        elapsed = self.clock() - self._anchor
        return self.head_block + int(elapsed / self.dataset.chain.block_time)

    def served_head(self) -> int:
        """The head as `_meta` and queries see it: behind by `meta_lag_blocks` when stale."""
        return max(self.dataset.chain.genesis_block, self.head() - self.meta_lag_blocks)

    # ---- control ------------------------------------------------------------------------

    def update(self, changes: dict[str, Any]) -> None:
        unknown = set(changes) - {*SETTINGS, "advance_blocks", "reset"}
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        if changes.get("reset"):
            self.reset()
        if "fault_modes" in changes:
            self._check_modes(changes["fault_modes"])
        if "live" in changes or "head_block" in changes:
            self.head_block = self.head()  # freeze the live head before switching
            self._anchor = self.clock()
        for key in SETTINGS:
            if key in changes:
                setattr(self, key, changes[key])
        if "fault_seed" in changes:
            self._rng = random.Random(self.fault_seed)
        if changes.get("advance_blocks"):
            self.head_block += int(changes["advance_blocks"])

    @staticmethod
    def _check_modes(modes: list[str]) -> None:
        bad = [m for m in modes if m not in FAULT_MODES]
        if bad or not modes:
            raise ValueError(f"fault_modes must be a non-empty subset of {list(FAULT_MODES)}")

    def state(self) -> dict[str, Any]:
        head = self.head()
        return {
            **{key: getattr(self, key) for key in SETTINGS},
            "head_block": head,
            "served_head_block": self.served_head(),
            "head_timestamp": self.dataset.block_timestamp(head),
            "last_block": self.dataset.last_block,
            "deployments": self.dataset.deployments(),
            "uptime_seconds": round(self.clock() - self.started, 3),
            "counters": dict(self.counters),
        }

    # ---- per request --------------------------------------------------------------------

    def admit(self, subgraph: str) -> FaultResponse | None:
        """Count a request; return the fault to answer it with, if any."""
        now = self.clock()
        self.last_request = now
        self.counters["requests"] += 1
        self.counters[f"requests.{subgraph}"] += 1
        if self.rate_limit_rps:
            recent = self._recent
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rate_limit_rps:
                self.counters["rate_limited"] += 1
                return fault_response("429")
            recent.append(now)
        if self.fault_rate and self._rng.random() < self.fault_rate:
            mode = self._rng.choice(self.fault_modes)
            self.counters["faults"] += 1
            self.counters[f"faults.{mode}"] += 1
            return fault_response(mode)
        return None

    def admit_gamma(self) -> FaultResponse | None:
        """`admit` for the Gamma face: the same controls, Gamma's own fault bodies, and
        `gamma_fault_rate` for an outage of Gamma alone."""
        fault = self.admit("gamma")
        if fault is None and self.gamma_fault_rate and self._rng.random() < self.gamma_fault_rate:
            mode = self._rng.choice(self.fault_modes)
            self.counters["faults"] += 1
            self.counters[f"faults.{mode}"] += 1
            fault = fault_response(mode)
        return gamma_fault_response(fault.mode) if fault is not None else None
