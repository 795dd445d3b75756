"""Reading `eth_getLogs` over a long block span: many ranges in flight, handed over in order.

The span is cut into ranges of at most `max_range` blocks, read `workers` at a time. A range
the provider refuses as too wide or too full is split (to the span the provider suggests, or
in half) and its pieces are read before anything after them; the size of new ranges follows:
it drops to what worked and doubles back, up to `max_range` or the provider's block-range
limit, while answers stay small. Ranges are yielded in block order with their logs, so a
caller that commits a cursor after each one never skips a block, whatever finished first.
A range can be read with several filters (one `eth_getLogs` each, e.g. one per indexed topic
position): its logs are their union, each log once.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.chain import ChainClient, ChainRpcRejected, RangeTooLarge

Progress = Callable[[str], None]
# (addresses, topics) of one `eth_getLogs` filter
LogFilter = tuple[Sequence[str], Sequence[Any]]
# Half the common 10,000-log cap: a range this sparse is expected to fit when doubled.
DEFAULT_GROW_BELOW = 5000


@dataclass
class LogRange:
    """Blocks [from_block, to_block], all read: their logs in (block, log index) order."""

    from_block: int
    to_block: int
    logs: list[dict[str, Any]]


@dataclass
class ReadStats:
    ranges: int = 0
    logs: int = 0
    splits: int = 0
    removed: int = 0
    started: float = field(default_factory=time.monotonic)


class RangeSize:
    """How many blocks the next range asks for."""

    def __init__(self, max_range: int, grow_below: int):
        self.size = self.ceiling = max_range
        self.grow_below = grow_below

    def refused(self, width: int, error: RangeTooLarge) -> int:
        """The width to retry a refused range of `width` blocks with."""
        smaller = error.span if error.span and error.span < width else width // 2
        smaller = max(1, smaller)
        if error.by_results:
            if error.result_cap:
                self.grow_below = max(1, error.result_cap // 2)
        else:
            # The block-range limit is the provider's, the same for every range: stay under it.
            self.ceiling = min(self.ceiling, smaller)
        self.size = min(self.size, smaller)
        return smaller

    def answered(self, width: int, logs: int) -> None:
        if width >= self.size and logs < self.grow_below:
            self.size = min(self.ceiling, self.size * 2)


def iter_logs(
    client: ChainClient,
    addresses: Sequence[str],
    topics: Sequence[Any],
    from_block: int,
    to_block: int,
    *,
    more_filters: Sequence[LogFilter] = (),
    max_range: int = 2000,
    workers: int = 4,
    grow_below: int = DEFAULT_GROW_BELOW,
    progress: Progress | None = None,
    progress_every: float = 5.0,
) -> Iterator[LogRange]:
    """Every log of [from_block, to_block] matching the filter (or any of `more_filters`),
    one `LogRange` at a time.

    Logs the node flags `removed: true` (reorged away while it answered) are dropped.
    """
    if max_range < 1 or workers < 1:
        raise ValueError("max_range and workers must be at least 1")
    size = RangeSize(max_range, grow_below)
    stats = ReadStats()
    # Ranges finished or in flight but not yet handed over: bounds memory when one slow
    # range holds back the ones after it.
    window = workers * 4
    pending: list[tuple[int, int]] = []  # pieces of split ranges, read first (by from_block)
    inflight: dict[Future, tuple[int, int]] = {}
    done: dict[int, LogRange] = {}
    next_plan, next_yield = from_block, from_block
    last_report = stats.started

    filters = [(addresses, topics), *more_filters]

    def read(lo: int, hi: int) -> list[dict[str, Any]]:
        # A refusal of any filter splits the range for all: one cursor covers them together.
        # A log is its block and index (a reorg can answer a transaction twice: removed from
        # the old block, live in the new one).
        logs: dict[tuple, dict[str, Any]] = {}
        for filter_addresses, filter_topics in filters:
            for log in client.get_logs(filter_addresses, filter_topics, lo, hi):
                where = (log.get("blockHash"), log["blockNumber"], log["logIndex"])
                logs.setdefault((*where, log.get("removed")), log)
        return list(logs.values())

    pool = ThreadPoolExecutor(workers, thread_name_prefix="rpc-logs")
    try:
        while next_yield <= to_block:
            # The piece that holds back the hand-over is always let through.
            while len(inflight) < workers and (len(inflight) + len(done) < window or not inflight):
                if pending:
                    # What is left of a split range is cut at the size of the moment, so
                    # it grows back too once its answers are small.
                    lo, hi = heapq.heappop(pending)
                    if hi - lo + 1 > size.size:
                        heapq.heappush(pending, (lo + size.size, hi))
                        hi = lo + size.size - 1
                elif next_plan <= to_block:
                    lo, hi = next_plan, min(to_block, next_plan + size.size - 1)
                    next_plan = hi + 1
                else:
                    break
                inflight[pool.submit(read, lo, hi)] = (lo, hi)
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in finished:
                lo, hi = inflight.pop(future)
                try:
                    logs = future.result()
                except RangeTooLarge as exc:
                    _split(lo, hi, exc, size, pending, client)
                    stats.splits += 1
                    continue
                size.answered(hi - lo + 1, len(logs))
                done[lo] = _range(lo, hi, logs, stats)
            while next_yield in done:
                item = done.pop(next_yield)
                next_yield = item.to_block + 1
                stats.ranges += 1
                stats.logs += len(item.logs)
                yield item
            now = time.monotonic()
            if progress and now - last_report >= progress_every:
                last_report = now
                progress(_report(stats, next_yield, from_block, to_block, size))
    finally:
        # A failed read ends the iteration now; reads still retrying finish on their own.
        pool.shutdown(wait=False, cancel_futures=True)
    if progress:
        progress(_report(stats, next_yield, from_block, to_block, size))


def _split(
    lo: int,
    hi: int,
    error: RangeTooLarge,
    size: RangeSize,
    pending: list[tuple[int, int]],
    client: ChainClient,
) -> None:
    if lo == hi:
        raise ChainRpcRejected(
            f"Polygon RPC {client.endpoint}: block {lo} alone is more than the provider "
            f"answers for this filter ({error})"
        )
    width = size.refused(hi - lo + 1, error)
    heapq.heappush(pending, (lo, lo + width - 1))
    heapq.heappush(pending, (lo + width, hi))


def _range(lo: int, hi: int, logs: list[dict[str, Any]], stats: ReadStats) -> LogRange:
    kept = [log for log in logs if not log.get("removed")]
    stats.removed += len(logs) - len(kept)
    kept.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
    return LogRange(lo, hi, kept)


def _report(stats: ReadStats, next_block: int, lo: int, hi: int, size: RangeSize) -> str:
    elapsed = max(time.monotonic() - stats.started, 1e-9)
    read = min(next_block, hi + 1) - lo
    return (
        f"chain logs: {read}/{hi - lo + 1} blocks, {stats.ranges} ranges, {stats.logs} logs, "
        f"{stats.logs / elapsed:.0f} logs/s, {stats.splits} splits, range size {size.size}"
    )
