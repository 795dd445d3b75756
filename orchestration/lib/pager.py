"""Keyset paging of subgraph entities, every page of a run pinned to one block.

Timestamped entities are paged on (timestamp, id), the order graph-node gives with
`orderBy: timestamp` (ties broken by id). Paging on `timestamp_gt` alone loses events that
share the timestamp a page ends in; instead, a full page ending at timestamp T emits only the
rows before T and the next page starts at `timestamp_gte: T`. A page holding a single
timestamp switches to `{timestamp: T, id_gt: last}` until that timestamp is exhausted.
`skip` is never used: it is capped and slow on hosted graph-nodes.

Throughput comes from several slices of the time range in flight at once, each paged
sequentially by one worker. The progress of every slice is part of the plan that is
committed with each page, so a run killed anywhere resumes where its last commit ended.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestration.lib.entities import Entity
from orchestration.lib.subgraph import SubgraphClient

PAGE_SIZE = 1000


@dataclass
class Slice:
    """A half-open time range [start, end) and how far it has been read."""

    start: int
    end: int
    lo: int  # next timestamp to read from (rows before it are committed)
    tie_id: str | None = None  # inside timestamp `lo`, ids after this one remain
    done: bool = False


@dataclass
class Plan:
    """One extraction of [start, end) of an entity at a pinned block, split into slices."""

    block: int
    start: int
    end: int
    slices: list[Slice] = field(default_factory=list)

    @classmethod
    def split(cls, block: int, start: int, end: int, parts: int) -> Plan:
        """Cut [start, end) into at most `parts` slices; an empty range has none (done)."""
        if end <= start:
            return cls(block, start, start)
        parts = max(1, min(parts, end - start))
        step = -(-(end - start) // parts)  # ceiling division: the last slice may be shorter
        bounds = [*range(start, end, step), end]
        return cls(block, start, end, [Slice(a, b, a) for a, b in itertools.pairwise(bounds)])

    @property
    def done(self) -> bool:
        return all(s.done for s in self.slices)

    def to_state(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "start": self.start,
            "end": self.end,
            "slices": [asdict(s) for s in self.slices],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Plan:
        return cls(
            state["block"], state["start"], state["end"], [Slice(**s) for s in state["slices"]]
        )


def selection(entity: Entity) -> str:
    return " ".join(entity.fields)


def events_query(entity: Entity) -> str:
    return (
        f"query Page($first: Int!, $block: Int!, $where: {entity.graphql_type}_filter!) "
        f"{{ rows: {entity.collection}(first: $first, orderBy: timestamp, orderDirection: asc, "
        f"where: $where, block: {{number: $block}}) {{ {selection(entity)} }} }}"
    )


def ids_query(entity: Entity) -> str:
    return (
        f"query Page($first: Int!, $block: Int!, $where: {entity.graphql_type}_filter!) "
        f"{{ rows: {entity.collection}(first: $first, orderBy: id, orderDirection: asc, "
        f"where: $where, block: {{number: $block}}) {{ {selection(entity)} }} }}"
    )


def read_slice_page(
    client: SubgraphClient, entity: Entity, block: int, piece: Slice, first: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], Slice]:
    """Read the next page of a slice: the rows to commit and the slice's progress after them."""
    query = events_query(entity)
    if piece.tie_id is not None:
        where = {"timestamp": str(piece.lo), "id_gt": piece.tie_id}
        rows = client.query(query, {"first": first, "block": block, "where": where})["rows"]
        if len(rows) < first:
            return rows, Slice(
                piece.start, piece.end, piece.lo + 1, None, piece.lo + 1 >= piece.end
            )
        return rows, Slice(piece.start, piece.end, piece.lo, rows[-1]["id"])

    where = {"timestamp_gte": str(piece.lo), "timestamp_lt": str(piece.end)}
    rows = client.query(query, {"first": first, "block": block, "where": where})["rows"]
    if len(rows) < first:
        return rows, Slice(piece.start, piece.end, piece.end, None, True)
    last_ts = int(rows[-1]["timestamp"])
    if int(rows[0]["timestamp"]) == last_ts:
        # The whole page is one timestamp: walk it by id.
        return rows, Slice(piece.start, piece.end, last_ts, rows[-1]["id"])
    # The page may end inside `last_ts`: keep those rows for the next page, which starts there.
    keep = [r for r in rows if int(r["timestamp"]) < last_ts]
    return keep, Slice(piece.start, piece.end, last_ts)


def iter_id_pages(
    client: SubgraphClient,
    entity: Entity,
    block: int,
    where: dict[str, Any] | None = None,
    first: int = PAGE_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Keyset pages ordered by id, for entities without a timestamp."""
    query = ids_query(entity)
    last_id: str | None = None
    while True:
        page_where = dict(where or {})
        if last_id is not None:
            page_where["id_gt"] = last_id
        rows = client.query(query, {"first": first, "block": block, "where": page_where})["rows"]
        if rows:
            yield rows
        if len(rows) < first:
            return
        last_id = rows[-1]["id"]


def earliest_timestamp(client: SubgraphClient, entity: Entity, block: int) -> int | None:
    query = (
        f"query First($block: Int!) {{ rows: {entity.collection}(first: 1, orderBy: timestamp, "
        f"orderDirection: asc, block: {{number: $block}}) {{ timestamp }} }}"
    )
    rows = client.query(query, {"block": block})["rows"]
    return int(rows[0]["timestamp"]) if rows else None
