"""Landing Gamma metadata: a lookup of the conditions the warehouse lacks, and a full refresh.

Gamma has no "changed since" filter, so the incremental path is driven by what the warehouse
knows: every condition seen in the subgraphs or on the chain without a Gamma market yet is
looked up by `condition_ids` (100 a request), then the events of the markets found. A
condition Gamma does not have is tried again only after `retry_missing_seconds`. The slow
full refresh pages every market, event and tag and so picks up edits (titles, tags,
closed flags) of markets already landed. Each page is upserted with the cursor in one
transaction: an interrupted run keeps what it landed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestration.lib.gamma import GammaClient
from orchestration.lib.gamma_tables import (
    GAMMA_EVENTS,
    GAMMA_MARKETS,
    GAMMA_TABLES,
    GAMMA_TAGS,
    rows_of_events,
    rows_of_markets,
    tag_row,
)
from orchestration.lib.warehouse import Warehouse

CURSOR = "gamma"
RETRY_MISSING_SECONDS = 6 * 3600

# Conditions the pipeline knows from the subgraphs and the chain, without Gamma metadata.
MISSING_CONDITIONS = """
    with known as (
        select id as condition_id from raw.conditions
        union
        select condition from raw.market_data
        union
        select condition_id from raw.chain_condition_preparations
    )
    select distinct lower(known.condition_id)
    from known
    where known.condition_id is not null
        and not exists (
            select 1 from raw.gamma_markets as gm
            where gm.condition_id = lower(known.condition_id)
        )
    order by 1
"""

EVENTS_NOT_LOADED = """
    select distinct event_id from (
        select unnest(event_ids) as event_id from raw.gamma_markets
    ) as referenced
    where not exists (select 1 from raw.gamma_events as ge where ge.id = referenced.event_id)
    order by 1
"""


@dataclass
class GammaResult:
    rows: dict[str, int] = field(default_factory=lambda: {t.table: 0 for t in GAMMA_TABLES})
    looked_up: int = 0  # conditions asked for
    still_missing: int = 0  # of those, the ones Gamma does not have

    def add(self, batches: dict) -> None:
        for table, rows in batches.items():
            self.rows[table.table] += len(rows)

    def metadata(self) -> dict[str, int]:
        return {
            **{f"rows_{name}": n for name, n in self.rows.items()},
            "conditions_looked_up": self.looked_up,
            "conditions_missing_from_gamma": self.still_missing,
        }


def _land(wh: Warehouse, batches: dict, state: dict, result: GammaResult) -> None:
    wh.load_gamma(batches, (CURSOR, state))
    result.add(batches)


def _land_events(
    client: GammaClient, wh: Warehouse, state: dict, result: GammaResult, progress
) -> None:
    event_ids = [row[0] for row in wh.fetchall(EVENTS_NOT_LOADED)]
    if event_ids:
        progress(f"Gamma: reading {len(event_ids)} events")
    for page in client.events_by_id(event_ids):
        _land(wh, rows_of_events(page), state, result)


def lookup_missing(
    client: GammaClient,
    wh: Warehouse,
    *,
    retry_missing_seconds: int = RETRY_MISSING_SECONDS,
    now: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> GammaResult:
    """Look up the conditions the warehouse has no Gamma market for, and their events."""
    now = time.time() if now is None else now
    state = wh.get_cursor(CURSOR) or {}
    tried: dict[str, float] = state.get("missing", {})
    candidates = [row[0] for row in wh.fetchall(MISSING_CONDITIONS)]
    due = [c for c in candidates if c not in tried or now - tried[c] >= retry_missing_seconds]
    result = GammaResult(looked_up=len(due))
    if due:
        progress(f"Gamma: looking up {len(due)} conditions without metadata")
    state = {**state, "missing": {c: t for c, t in tried.items() if c in set(candidates)}}
    for page in client.markets_by_condition(due):
        _land(wh, rows_of_markets(page), state, result)
    found = {row[0] for row in wh.fetchall("select condition_id from raw.gamma_markets")}
    missing = [c for c in due if c not in found]
    result.still_missing = len(missing)
    state["missing"] = {
        **{c: t for c, t in state["missing"].items() if c not in found},
        **{c: now for c in missing},
    }
    state["lookup_at"] = now
    _land_events(client, wh, state, result, progress)
    wh.load_gamma({}, (CURSOR, state))
    return result


def full_refresh(
    client: GammaClient,
    wh: Warehouse,
    *,
    now: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> GammaResult:
    """Every market, event and tag Gamma lists, open and closed."""
    now = time.time() if now is None else now
    state = wh.get_cursor(CURSOR) or {}
    result = GammaResult()
    for page in client.markets():
        _land(wh, rows_of_markets(page), state, result)
    progress(f"Gamma: {result.rows[GAMMA_MARKETS.table]} markets read")
    for page in client.events():
        _land(wh, rows_of_events(page), state, result)
    progress(f"Gamma: {result.rows[GAMMA_EVENTS.table]} events read")
    for page in client.tags():
        _land(wh, {GAMMA_TAGS: [tag_row(t) for t in page if t.get("id")]}, state, result)
    wh.load_gamma({}, (CURSOR, {**state, "full_refresh_at": now, "lookup_at": now}))
    return result


def missing_conditions(wh: Warehouse) -> list[str]:
    return [row[0] for row in wh.fetchall(MISSING_CONDITIONS)]
