"""One page of a collection query (`where`, `orderBy`, `skip`, `first`, `block`) on a Table.

Semantics follow graph-node: the default order is by id (string order), any other order
breaks ties by id ascending, `where` operators compare BigInt numerically and strings,
ids and Bytes lexically. Fast paths cover the shapes pagers send; a candidate from a fast
path is still checked against the whole filter, so the fast paths only decide where to
start and stop, never what matches.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from subgraph_sim.schema import FieldSpec
from subgraph_sim.store import Table

Predicate = Callable[[int], bool]

# Longest first, so `f_not_in` is not read as `f_not` + `_in`.
_SUFFIXES = sorted(
    (
        "_not_contains",
        "_not_starts_with",
        "_not_ends_with",
        "_starts_with",
        "_ends_with",
        "_contains",
        "_not_in",
        "_not",
        "_gte",
        "_lte",
        "_gt",
        "_lt",
        "_in",
    ),
    key=len,
    reverse=True,
)
_HEX = re.compile(r"0x[0-9a-fA-F]*")


class QueryError(Exception):
    """A query execution error graph-node reports in the `errors` array."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "" for equality, else the suffix without the leading underscore
    value: Any


def _coerce(field: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    scalar = field.scalar
    try:
        if scalar in ("BigInt", "Int", "Int8"):
            return int(value)
        if scalar == "BigDecimal":
            return Decimal(str(value))
    except (ValueError, ArithmeticError) as exc:
        raise QueryError(f"Invalid value `{value}` for {scalar} field `{field.name}`") from exc
    if scalar == "Bytes" or (isinstance(value, str) and _HEX.fullmatch(value)):
        # graph-node stores Bytes as binary, so hex compares case-insensitively; stored
        # addresses and hashes are lower-case, so lower-casing hex filter values matches it.
        return value.lower()
    return value


def parse_where(table: Table, where: dict[str, Any] | None) -> tuple[list[Condition], Predicate]:
    """Top-level conditions (for the fast paths) and a predicate over rows for all of it."""
    if not where:
        return [], _always
    conditions: list[Condition] = []
    predicates: list[Predicate] = []
    for key, value in where.items():
        if key in ("and", "or"):
            parts = [parse_where(table, sub)[1] for sub in value or ()]
            predicates.append(_all_of(parts) if key == "and" else _any_of(parts))
            continue
        if key == "_change_block":
            predicates.append(_changed_since(table, value["number_gte"]))
            continue
        name, op = _split_key(table, key)
        field = table.spec.field(name)
        if field.is_list:
            coerced = None if value is None else tuple(_coerce(field, v) for v in value)
        elif op in ("in", "not_in"):
            coerced = [_coerce(field, v) for v in value or ()]
        else:
            coerced = _coerce(field, value)
        condition = Condition(name, op, coerced)
        conditions.append(condition)
        predicates.append(_predicate(table, field, condition))
    return conditions, _all_of(predicates)


def _split_key(table: Table, key: str) -> tuple[str, str]:
    if key in table.spec.by_name:
        return key, ""
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in table.spec.by_name:
            return key[: -len(suffix)], suffix[1:]
    raise QueryError(f"Unknown filter `{key}`")  # validation normally catches this first


def _predicate(table: Table, field: FieldSpec, c: Condition) -> Predicate:
    get, v, op = table.getter(c.field), c.value, c.op
    if field.is_list:
        wanted = set(v or ())
        if op == "":
            return lambda r: get(r) == v
        if op == "not":
            return lambda r: get(r) != v
        if op == "contains":
            return lambda r: wanted.issubset(get(r))
        return lambda r: not wanted.issubset(get(r))
    if op in ("in", "not_in"):
        values = set(v)
        if op == "in":
            return lambda r: get(r) in values
        return lambda r: get(r) not in values
    if v is None:
        # `f: null` / `f_not: null` test for absence; other comparisons with null match nothing.
        if op == "":
            return lambda r: get(r) is None
        if op == "not":
            return lambda r: get(r) is not None
        return lambda r: False
    simple = {
        "": lambda r: get(r) == v,
        "not": lambda r: get(r) != v,
        "gt": lambda r: (x := get(r)) is not None and x > v,
        "lt": lambda r: (x := get(r)) is not None and x < v,
        "gte": lambda r: (x := get(r)) is not None and x >= v,
        "lte": lambda r: (x := get(r)) is not None and x <= v,
        "contains": lambda r: v in (get(r) or ""),
        "not_contains": lambda r: v not in (get(r) or ""),
        "starts_with": lambda r: (get(r) or "").startswith(v),
        "not_starts_with": lambda r: not (get(r) or "").startswith(v),
        "ends_with": lambda r: (get(r) or "").endswith(v),
        "not_ends_with": lambda r: not (get(r) or "").endswith(v),
    }
    return simple[op]


def _changed_since(table: Table, block: int) -> Predicate:
    vis = table.vis
    return lambda r: vis[r] >= block


def _always(_row: int) -> bool:
    return True


def _all_of(parts: list[Predicate]) -> Predicate:
    if not parts:
        return _always
    if len(parts) == 1:
        return parts[0]
    return lambda r: all(p(r) for p in parts)


def _any_of(parts: list[Predicate]) -> Predicate:
    return lambda r: any(p(r) for p in parts)


# ---- planning ---------------------------------------------------------------------------


def page(
    table: Table,
    *,
    block: int,
    where: dict[str, Any] | None = None,
    order_by: str | None = None,
    desc: bool = False,
    skip: int = 0,
    first: int = 100,
) -> list[int]:
    """Rows of the requested page, in order."""
    conditions, matches = parse_where(table, where)
    order = order_by or "id"
    need = skip + first
    if need == 0:
        return []

    keys = _indexed_keys(table, conditions)
    if keys is not None:
        rows = [r for r in (table.row_at(k, block) for k in keys) if r >= 0 and matches(r)]
        return _sorted(table, rows, order, desc)[skip:need]
    if order == "timestamp" and table.time_ordered:
        return _take(table, _timestamp_range(table, conditions, desc), block, matches, skip, need)
    if order == "id":
        return _take(table, _id_range(table, conditions, desc), block, matches, skip, need)
    rows = [r for r in (table.row_at(k, block) for k in range(table.n_entities)) if r >= 0]
    rows = [r for r in rows if matches(r)]
    return _sorted(table, rows, order, desc)[skip:need]


def _take(
    table: Table, keys: Iterable[int], block: int, matches: Predicate, skip: int, need: int
) -> list[int]:
    out: list[int] = []
    if table.mutable:
        row_at = table.row_at
        for k in keys:
            r = row_at(k, block)
            if r >= 0 and matches(r):
                out.append(r)
                if len(out) >= need:
                    break
    else:
        vis = table.vis
        for r in keys:
            if vis[r] <= block and matches(r):
                out.append(r)
                if len(out) >= need:
                    break
    return out[skip:]


def _sorted(table: Table, rows: list[int], order: str, desc: bool) -> list[int]:
    rows.sort(key=table.getter("id"))
    if order != "id":
        get = table.getter(order)
        # Two stable sorts: value in the requested direction, ties by id ascending.
        rows.sort(key=lambda r: _sort_key(get(r)), reverse=desc)
    elif desc:
        rows.reverse()
    return rows


def _sort_key(value: Any) -> tuple:
    return (value is not None, value if value is not None else 0)


def _indexed_keys(table: Table, conditions: list[Condition]) -> list[int] | None:
    """Candidate keys from an equality or `_in` condition, or None when none applies."""
    for c in conditions:
        if c.field == "id" and c.op in ("", "in"):
            ids = [c.value] if c.op == "" else c.value
            keys = (table.key_of_id(i) for i in ids)
            return sorted({k for k in keys if k is not None})
    for c in conditions:
        if c.op not in ("", "in") or c.value is None or c.field in ("timestamp", "id"):
            continue
        field = table.spec.field(c.field)
        if field.is_list or field.scalar in ("Boolean", "BigDecimal"):
            continue
        index = table.eq_index(c.field)
        if c.op == "":
            return index.get(c.value, [])
        keys: set[int] = set()
        for value in c.value:
            keys.update(index.get(value, ()))
        return sorted(keys)
    return None


def _bounds(
    conditions: list[Condition], name: str, bisect_left, bisect_right, lo: int, hi: int
) -> tuple[int, int]:
    for c in conditions:
        if c.field != name or c.value is None:
            continue
        if c.op == "":
            lo, hi = max(lo, bisect_left(c.value)), min(hi, bisect_right(c.value))
        elif c.op == "gt":
            lo = max(lo, bisect_right(c.value))
        elif c.op == "gte":
            lo = max(lo, bisect_left(c.value))
        elif c.op == "lt":
            hi = min(hi, bisect_left(c.value))
        elif c.op == "lte":
            hi = min(hi, bisect_right(c.value))
    return lo, hi


def _timestamp_range(table: Table, conditions: list[Condition], desc: bool) -> Iterator[int]:
    """Rows in (timestamp, id) order (descending timestamps, ids ascending within one)."""
    ts = table.columns["timestamp"]
    n = table.n_rows
    lo, hi = _bounds(
        conditions,
        "timestamp",
        lambda v: bisect.bisect_left(ts, v),
        lambda v: bisect.bisect_right(ts, v),
        0,
        n,
    )
    if lo < hi and ts[lo] == ts[hi - 1]:
        # Inside one timestamp rows are in id order: the sticky cursor's `id_gt` bisects.
        ids = table.columns["id"]
        lo, hi = _bounds(
            conditions,
            "id",
            lambda v: bisect.bisect_left(ids, v, lo, hi),
            lambda v: bisect.bisect_right(ids, v, lo, hi),
            lo,
            hi,
        )
    if not desc:
        return iter(range(lo, hi))
    return _timestamp_groups_desc(ts, lo, hi)


def _timestamp_groups_desc(ts, lo: int, hi: int) -> Iterator[int]:
    end = hi
    while end > lo:
        start = max(lo, bisect.bisect_left(ts, ts[end - 1], lo, end))
        yield from range(start, end)
        end = start


def _id_range(table: Table, conditions: list[Condition], desc: bool) -> Iterable[int]:
    """Entity keys in id order, narrowed by id bounds."""
    perm = table.id_perm
    ids = table.ent_ids
    if isinstance(perm, range):
        lo, hi = _bounds(
            conditions,
            "id",
            lambda v: bisect.bisect_left(ids, v),
            lambda v: bisect.bisect_right(ids, v),
            0,
            table.n_entities,
        )
    else:
        key = ids.__getitem__
        lo, hi = _bounds(
            conditions,
            "id",
            lambda v: bisect.bisect_left(perm, v, key=key),
            lambda v: bisect.bisect_right(perm, v, key=key),
            0,
            table.n_entities,
        )
    if desc:
        return (perm[i] for i in range(hi - 1, lo - 1, -1))
    return perm[lo:hi] if isinstance(perm, list) else range(lo, hi)
