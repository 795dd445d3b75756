"""Extraction runs: subgraph pages into raw tables, resumable, with progress reports.

Immutable events are extracted incrementally over (timestamp, id): each run reads from the
committed watermark minus a lookback (late-arriving events get indexed with old timestamps)
to the pinned block's timestamp. Reference entities are refreshed by id, only where they can
have changed: tokens and conditions seen in the events but not yet loaded, conditions not yet
resolved, and the positions of the wallets polyboard follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib import slices
from orchestration.lib.entities import (
    CONDITIONS,
    MARKET_DATA,
    ORDER_FILLED_EVENTS,
    USER_POSITIONS,
    Entity,
)
from orchestration.lib.pager import PAGE_SIZE, Plan, earliest_timestamp, iter_id_pages
from orchestration.lib.slices import SliceReader
from orchestration.lib.subgraph import Meta, SubgraphClient, SubgraphError
from orchestration.lib.warehouse import Warehouse

Progress = Callable[[str], None]
ID_BATCH = 500  # ids per `id_in` / `user_in` filter: well inside graph-node's query size limits
LOAD_BATCH_ROWS = 5000  # at most this many queued rows go into one load transaction


@dataclass
class ExtractResult:
    entity: str
    rows: int = 0
    pages: int = 0
    block: int = 0
    block_timestamp: int = 0
    seconds: float = 0.0
    window: tuple[int, int] | None = None
    resumed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def metadata(self) -> dict[str, Any]:
        meta = {
            "rows": self.rows,
            "pages": self.pages,
            "source_block": self.block,
            "source_block_timestamp": self.block_timestamp,
            "lag_seconds": max(0, int(time.time()) - self.block_timestamp),
            "rows_per_second": round(self.rows_per_second, 1),
            "seconds": round(self.seconds, 2),
            "resumed": self.resumed,
        }
        if self.window:
            meta["window_start"], meta["window_end"] = self.window
        meta.update(self.extra)
        return meta


class _Reporter:
    """Rate-limited progress lines: pages, rows and rate, every few seconds."""

    def __init__(self, progress: Progress, label: str, every: float = 5.0):
        self.progress, self.label, self.every = progress, label, every
        self.started = time.monotonic()
        self.last = self.started

    def tick(self, result: ExtractResult, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            elapsed = max(now - self.started, 1e-9)
            self.progress(
                f"{self.label}: {result.rows} rows, {result.pages} pages, "
                f"{result.rows / elapsed:.0f} rows/s"
            )


def extract_events(
    client: SubgraphClient,
    warehouse: Warehouse,
    entity: Entity,
    *,
    start: int | None = None,
    end: int | None = None,
    lookback_seconds: int = 3600,
    full_refresh: bool = False,
    workers: int = 4,
    slices_per_worker: int = 2,
    page_size: int = PAGE_SIZE,
    meta: Meta | None = None,
    progress: Progress = print,
    warn: Progress | None = None,
) -> ExtractResult:
    """Extract an immutable, timestamped entity into its raw table.

    Without `end` this is the incremental run: it continues from the watermark (or `start`)
    to the source's newest block and advances the watermark. With `end` it is a backfill of
    the window [start, end): it has its own resumable cursor and leaves the watermark alone.
    A window with nothing to read (an entity with no events yet, a source whose head went
    back past the lookback, a backfill at or after the head) is a no-op reported to `warn`.
    """
    if not entity.timestamped:
        raise ValueError(f"{entity.table} has no timestamp to page on")
    if end is not None and start is None:
        raise ValueError("a backfill window needs a start")
    started = time.monotonic()
    cursor_name = entity.table if end is None else f"{entity.table}:{start}-{end}"
    cursor = warehouse.get_cursor(cursor_name) or {}
    result = ExtractResult(entity.table)

    def skip(meta: Meta, reason: str) -> ExtractResult:
        """An empty plan: no page is read, the watermark and block stay where they were."""
        (warn or progress)(reason)
        if cursor.get("plan"):  # a full refresh drops the interrupted run it replaces
            warehouse.upsert(
                entity, [], meta.block_number, cursor=(cursor_name, {**cursor, "plan": None})
            )
        result.block, result.block_timestamp = meta.block_number, meta.block_timestamp
        result.extra["skipped"] = reason
        result.seconds = time.monotonic() - started
        return result

    plan_state = cursor.get("plan")
    if plan_state and not full_refresh:
        # An interrupted run: finish its plan at its own block, for a consistent snapshot.
        plan = Plan.from_state(plan_state)
        result.resumed = True
        block_timestamp = int(cursor["plan_block_timestamp"])
        progress(f"{entity.table}: resuming the interrupted run at block {plan.block}")
    else:
        meta = meta or client.meta()
        block_timestamp = meta.block_timestamp
        hi = meta.block_timestamp + 1 if end is None else min(end, meta.block_timestamp + 1)
        watermark = cursor.get("watermark")
        if start is not None:
            lo = start
        elif watermark is not None and not full_refresh:
            lo = int(watermark) + 1 - lookback_seconds
        else:
            lo = earliest_timestamp(client, entity, meta.block_number)
            if lo is None:
                return skip(
                    meta,
                    f"{entity.table}: the source has no {entity.collection} yet at block "
                    f"{meta.block_number}; nothing to read, the next run looks again",
                )
        if lo >= hi:
            # A source whose head went back (a reindex, a lagging replica) or a backfill window
            # at or after the head: there is nothing to read, and nothing already loaded moves.
            what = "backfill window starts" if end is not None else "read would start"
            return skip(
                meta,
                f"{entity.table}: the {what} at {lo}, at or after the source's head "
                f"(block {meta.block_number}, time {meta.block_timestamp}); nothing to read",
            )
        plan = Plan.split(meta.block_number, lo, hi, workers * slices_per_worker)
        cursor = {**cursor, "plan": plan.to_state(), "plan_block_timestamp": block_timestamp}
        warehouse.upsert(entity, [], plan.block, cursor=(cursor_name, cursor))

    result.block, result.block_timestamp = plan.block, block_timestamp
    result.window = (plan.start, plan.end)
    reporter = _Reporter(progress, entity.table)
    progress(
        f"{entity.table}: reading timestamps [{plan.start}, {plan.end}) at block {plan.block} "
        f"in {len(plan.slices)} slices, {workers} in flight"
    )

    def commit(rows: list[dict[str, Any]]) -> None:
        cursor["plan"] = plan.to_state()
        result.rows += warehouse.upsert(entity, rows, plan.block, cursor=(cursor_name, cursor))
        reporter.tick(result)

    reader = SliceReader(client, entity, plan, workers, page_size)
    rows: list[dict[str, Any]] = []
    for message in reader.messages():
        slices.apply(plan, message)
        if isinstance(message, slices.Page):
            rows.extend(message.rows)
            result.pages += 1
        # Pages that queued up while the last batch was loading are loaded together, so
        # when loading is the bottleneck it commits fewer, larger transactions.
        if len(rows) >= LOAD_BATCH_ROWS or not reader.ready():
            commit(rows)
            rows = []
    commit(rows)  # what the last messages brought

    cursor.pop("plan_block_timestamp", None)
    cursor["plan"] = None
    if plan.block >= cursor.get("block", 0):
        cursor.update(block=plan.block, block_timestamp=block_timestamp)
    if end is None:
        # Within the lookback a source can answer from an older head than the last run's:
        # the watermark never moves back, so the next run does not re-read what it has.
        cursor["watermark"] = max(plan.end - 1, int(cursor.get("watermark") or 0))
    warehouse.upsert(entity, [], plan.block, cursor=(cursor_name, cursor))
    result.seconds = time.monotonic() - started
    reporter.tick(result, force=True)
    return result


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def refresh_by_ids(
    client: SubgraphClient,
    warehouse: Warehouse,
    entity: Entity,
    ids: Sequence[str],
    *,
    key: str = "id_in",
    block: int,
    result: ExtractResult,
    reporter: _Reporter,
) -> None:
    """Upsert the current state of the entities matching `key` in `ids`, a batch at a time."""
    for batch in _chunks(sorted(set(ids)), ID_BATCH):
        for rows in iter_id_pages(client, entity, block, where={key: batch}):
            result.rows += warehouse.upsert(entity, rows, block)
            result.pages += 1
            reporter.tick(result)


def _scan_all(
    client: SubgraphClient,
    warehouse: Warehouse,
    entity: Entity,
    block: int,
    result: ExtractResult,
    reporter: _Reporter,
) -> None:
    for rows in iter_id_pages(client, entity, block):
        result.rows += warehouse.upsert(entity, rows, block)
        result.pages += 1
        reporter.tick(result)


def _check_not_behind(
    warehouse: Warehouse, entity: Entity, meta: Meta, result: ExtractResult, warn: Progress
) -> None:
    """Warn when the source answers from an older block than the one already loaded.

    A reindexing deployment or a lagging replica serves older versions of mutable rows; the
    loader keeps the newer ones (`Warehouse._upsert_sql`), and the source check fails on it.
    """
    loaded = int((warehouse.get_cursor(entity.table) or {}).get("block") or 0)
    if meta.block_number < loaded:
        result.extra["loaded_block"] = loaded
        warn(
            f"{entity.table}: the source serves block {meta.block_number}, behind block "
            f"{loaded} already loaded; rows keep their newer versions"
        )


def _finish(
    warehouse: Warehouse, entity: Entity, meta: Meta, result: ExtractResult, started: float
) -> ExtractResult:
    previous = warehouse.get_cursor(entity.table) or {}
    cursor = {"block": meta.block_number, "block_timestamp": meta.block_timestamp}
    if int(previous.get("block") or 0) > meta.block_number:
        cursor = previous  # never record an older block than the rows already hold
    warehouse.upsert(entity, [], meta.block_number, cursor=(entity.table, cursor))
    result.block, result.block_timestamp = meta.block_number, meta.block_timestamp
    result.seconds = time.monotonic() - started
    return result


# Ids that can have changed since the last refresh, per reference entity.
STALE_IDS_SQL = {
    # tokens the fills brought in
    MARKET_DATA.table: f"""
        select token from (
            select "makerAssetId" as token from raw.{ORDER_FILLED_EVENTS.table}
            union
            select "takerAssetId" from raw.{ORDER_FILLED_EVENTS.table}
        ) tokens
        where token <> '0' and token not in (select id from raw.{MARKET_DATA.table})
    """,
    # conditions of new tokens, and conditions not yet resolved
    CONDITIONS.table: f"""
        select distinct condition from raw.{MARKET_DATA.table}
        where condition not in (select id from raw.{CONDITIONS.table})
        union
        select id from raw.{CONDITIONS.table} where "payoutDenominator" = 0
    """,
}


def extract_reference(
    client: SubgraphClient,
    warehouse: Warehouse,
    entity: Entity,
    *,
    full_refresh: bool = False,
    progress: Progress = print,
    warn: Progress | None = None,
) -> ExtractResult:
    """A reference entity: a full scan the first time (or when asked), then only stale ids."""
    started, meta = time.monotonic(), client.meta()
    result = ExtractResult(entity.table)
    reporter = _Reporter(progress, entity.table)
    _check_not_behind(warehouse, entity, meta, result, warn or progress)
    if full_refresh or warehouse.get_cursor(entity.table) is None:
        _scan_all(client, warehouse, entity, meta.block_number, result, reporter)
    else:
        ids = [row[0] for row in warehouse.fetchall(STALE_IDS_SQL[entity.table])]
        result.extra["ids_asked"] = len(ids)
        refresh_by_ids(
            client, warehouse, entity, ids,
            block=meta.block_number, result=result, reporter=reporter,
        )  # fmt: skip
    reporter.tick(result, force=True)
    return _finish(warehouse, entity, meta, result, started)


def followed_wallets(
    warehouse: Warehouse, top: int, extra: Sequence[str], excluded: Sequence[str]
) -> list[str]:
    """The most active makers by USDC volume, plus wallets asked for explicitly."""
    fills = f"raw.{ORDER_FILLED_EVENTS.table}"
    rows = warehouse.fetchall(
        f"""
        select maker, sum(case when "makerAssetId" = '0' then "makerAmountFilled"
                               else "takerAmountFilled" end) as volume
        from {fills}
        group by maker
        order by volume desc, maker
        limit {int(top) + len(excluded)}
        """
    )
    excluded_set = {a.lower() for a in excluded}
    wallets = [r[0].lower() for r in rows if r[0].lower() not in excluded_set][:top]
    return sorted(set(wallets) | {w.lower() for w in extra})


def extract_user_positions(
    client: SubgraphClient,
    warehouse: Warehouse,
    wallets: Sequence[str],
    *,
    progress: Progress = print,
    warn: Progress | None = None,
) -> ExtractResult:
    """The pnl subgraph's current positions of the followed wallets."""
    started, meta = time.monotonic(), client.meta()
    result = ExtractResult(USER_POSITIONS.table, extra={"wallets": len(wallets)})
    reporter = _Reporter(progress, USER_POSITIONS.table)
    _check_not_behind(warehouse, USER_POSITIONS, meta, result, warn or progress)
    refresh_by_ids(
        client, warehouse, USER_POSITIONS, wallets,
        key="user_in", block=meta.block_number, result=result, reporter=reporter,
    )  # fmt: skip
    reporter.tick(result, force=True)
    return _finish(warehouse, USER_POSITIONS, meta, result, started)


__all__ = [
    "ExtractResult",
    "SubgraphError",
    "extract_events",
    "extract_reference",
    "extract_user_positions",
    "followed_wallets",
]
