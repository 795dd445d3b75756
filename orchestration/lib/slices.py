"""Several pages in flight over disjoint time slices, with work stealing.

Events are rarely spread evenly in time, so fixed slices leave workers idle while one dense
slice is read alone. Here a worker that runs out of slices splits the widest slice still being
read: the owner keeps the first half, the thief takes the second. Readers report to a single
consumer through a bounded queue (memory holds a few pages per worker, never the history):

- `Page(index, rows, progress)`: rows of slice `index`, and how far that slice has been read;
- `Split(parent, child, at, end)`: slice `parent` now ends at `at`; slice `child` is [at, end).

A split is queued before any page that reflects it, so a consumer that applies messages in
order and commits its view with the rows always holds a plan that covers the whole range.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from orchestration.lib.entities import Entity
from orchestration.lib.pager import Plan, Slice, read_slice_page
from orchestration.lib.subgraph import SubgraphClient


@dataclass
class Page:
    index: int
    rows: list[dict[str, Any]]
    progress: Slice


@dataclass
class Split:
    parent: int
    child: int
    at: int
    end: int


def apply(plan: Plan, message: Page | Split) -> None:
    """Update the consumer's view of the plan with one message."""
    if isinstance(message, Split):
        if message.child != len(plan.slices):
            raise RuntimeError(f"split of slice {message.parent} arrived out of order")
        plan.slices[message.parent].end = message.at
        if plan.slices[message.parent].lo >= message.at:
            plan.slices[message.parent].done = True
        plan.slices.append(Slice(message.at, message.end, message.at))
    else:
        plan.slices[message.index] = message.progress


class SliceReader:
    def __init__(
        self,
        client: SubgraphClient,
        entity: Entity,
        plan: Plan,
        workers: int,
        page_size: int,
    ):
        self.client, self.entity, self.block = client, entity, plan.block
        self.workers, self.page_size = workers, page_size
        self.live = [replace(s) for s in plan.slices]  # the readers' view, under `lock`
        self.pending = deque(i for i, s in enumerate(self.live) if not s.done)
        self.running: set[int] = set()
        # Seconds of the time range that each slice's last full page covered: how far one
        # more page is likely to reach. A split costs one partial page, so only slices
        # expected to need several more pages are worth splitting.
        self.page_span: dict[int, int] = {}
        self.lock = threading.Lock()
        self.queue: queue.Queue = queue.Queue(maxsize=workers * 2)
        self.stop = threading.Event()
        self._finished = object()

    def messages(self) -> Iterator[Page | Split]:
        """Every message in order; raises the first reader error."""
        if not self.pending:
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix=self.entity.table) as pool:
            for _ in range(self.workers):
                pool.submit(self._work)
            remaining = self.workers
            try:
                while remaining:
                    item = self.queue.get()
                    if item is self._finished:
                        remaining -= 1
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        yield item
            finally:
                self.stop.set()

    def ready(self) -> bool:
        return not self.queue.empty()

    # --- readers -----------------------------------------------------------------------
    def _put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        try:
            while not self.stop.is_set():
                with self.lock:
                    index = self._claim()
                if index is None:
                    return
                self._read(index)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
        finally:
            self._put(self._finished)

    def _claim(self) -> int | None:
        if self.pending:
            index = self.pending.popleft()
            self.running.add(index)
            return index
        return self._steal()

    def _steal(self) -> int | None:
        def unread(i: int) -> tuple[int, int]:
            s = self.live[i]
            start = s.lo + 1 if s.tie_id is not None else s.lo  # first timestamp not begun
            return start, s.end

        def pages_left(i: int) -> float:
            start, end = unread(i)
            return (end - start) / max(self.page_span[i], 1)

        candidates = [
            i
            for i in self.running
            if i in self.page_span and unread(i)[1] - unread(i)[0] >= 2 and pages_left(i) >= 3
        ]
        if not candidates:
            return None
        parent = max(candidates, key=pages_left)
        start, end = unread(parent)
        at = (start + end) // 2
        self.live[parent].end = at
        self.live.append(Slice(at, end, at))
        child = len(self.live) - 1
        self.running.add(child)
        self._put(Split(parent, child, at, end))  # under the lock: before the parent's next page
        return child

    def _read(self, index: int) -> None:
        while not self.stop.is_set():
            with self.lock:
                current = replace(self.live[index])
            if current.done:
                break
            rows, progress = read_slice_page(
                self.client, self.entity, self.block, current, self.page_size
            )
            with self.lock:
                end = self.live[index].end
                if end < current.end:  # split while the page was in flight: keep our half
                    rows = [r for r in rows if int(r["timestamp"]) < end]
                    progress.end = end
                    if progress.lo >= end:
                        progress.lo, progress.tie_id, progress.done = end, None, True
                if len(rows) >= self.page_size // 2:
                    self.page_span[index] = progress.lo - current.lo
                self.live[index] = progress
                self._put(Page(index, rows, replace(progress)))
        with self.lock:
            self.running.discard(index)
