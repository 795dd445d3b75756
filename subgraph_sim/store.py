"""Column storage of one entity type, with the versions graph-node keeps per block.

Rows are entity versions. An immutable entity has one row; a mutable one has a row per
block in which it changed. Every row records `vis`, the block from which it is visible.
Values are stored in their comparable Python form (BigInt as int, lists as tuples) and
converted to their JSON form (BigInt as a decimal string) only when served. Integer columns
are packed into `array('q')` where they fit, so a million fills stay a few hundred MB.

Row order, which the query fast paths rely on:
- immutable types with a `timestamp` field: sorted by (timestamp, id);
- other immutable types: sorted by id;
- mutable types: grouped by entity in id order, each entity's versions by ascending block.
The "key" `k` of an entity is its row (immutable) or its group index (mutable), so ascending
`k` is always the table's natural order.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from subgraph_sim.schema import EntitySpec, FieldSpec

_INT_SCALARS = ("BigInt", "Int", "Int8")


def storage_value(field: FieldSpec, value: Any) -> Any:
    """A served (JSON) value converted to its stored, comparable form."""
    if value is None:
        return None
    if field.is_list:
        return tuple(_scalar_storage(field.scalar, v) for v in value)
    return _scalar_storage(field.scalar, value)


def _scalar_storage(scalar: str, value: Any) -> Any:
    if scalar in _INT_SCALARS:
        return int(value)
    if scalar == "BigDecimal":
        return Decimal(str(value))
    if scalar == "Boolean":
        return bool(value)
    return value


def serializer(field: FieldSpec) -> Callable[[Any], Any] | None:
    """Stored value -> JSON value; None when the stored value is already its JSON form."""
    as_string = field.scalar in ("BigInt", "BigDecimal") or field.scalar == "Int8"
    if field.is_list:
        if as_string:
            return lambda v: None if v is None else [str(x) for x in v]
        return lambda v: None if v is None else list(v)
    if as_string:
        return lambda v: None if v is None else str(v)
    return None


def _compact(values: list, field: FieldSpec) -> Sequence:
    if field.scalar in _INT_SCALARS and not field.is_list and None not in values:
        try:
            return array("q", values)
        except OverflowError:
            return values
    return values


class Table:
    """The rows of one entity type and the lazily built indexes queries use."""

    def __init__(
        self,
        spec: EntitySpec,
        columns: dict[str, Sequence],
        vis: Sequence[int],
        *,
        mutable: bool,
        derived: dict[str, tuple[str, Callable[[Any], Any]]] | None = None,
    ) -> None:
        self.spec = spec
        self.mutable = mutable
        self.derived = derived or {}
        self.time_ordered = not mutable and "timestamp" in spec.by_name
        self.columns = columns
        self.vis = vis if isinstance(vis, array) else array("q", vis)
        self.n_rows = len(self.vis)
        if mutable:
            ids = columns["id"]
            starts = [i for i in range(self.n_rows) if i == 0 or ids[i] != ids[i - 1]]
            self.ent_ids = [ids[i] for i in starts]
            starts.append(self.n_rows)
            self.ent_start = array("q", starts)
        else:
            self.ent_ids = columns["id"]
            self.ent_start = None
        self.n_entities = len(self.ent_ids)
        self._id_perm: list[int] | None = None
        self._id_lookup: dict[str, int] | None = None
        self._eq_indexes: dict[str, dict[Any, list[int]]] = {}

    # ---- construction -------------------------------------------------------------

    @classmethod
    def build(
        cls,
        spec: EntitySpec,
        rows: dict[str, list],
        vis: list[int],
        *,
        mutable: bool,
        presorted: bool = False,
        derived: dict[str, tuple[str, Callable[[Any], Any]]] | None = None,
    ) -> Table:
        """A table from stored-form columns (one list per non-derived field) in any order."""
        if not presorted:
            ids = rows["id"]
            if mutable:
                order = sorted(range(len(vis)), key=lambda i: (ids[i], vis[i]))
            elif "timestamp" in spec.by_name:
                ts = rows["timestamp"]
                order = sorted(range(len(vis)), key=lambda i: (ts[i], ids[i]))
            else:
                order = sorted(range(len(vis)), key=ids.__getitem__)
            rows = {name: [col[i] for i in order] for name, col in rows.items()}
            vis = [vis[i] for i in order]
        columns = {name: _compact(col, spec.field(name)) for name, col in rows.items()}
        return cls(spec, columns, vis, mutable=mutable, derived=derived)

    @classmethod
    def empty(cls, spec: EntitySpec, mutable: bool = False) -> Table:
        rows = {f.name: [] for f in spec.fields}
        return cls.build(spec, rows, [], mutable=mutable, presorted=True)

    # ---- access ---------------------------------------------------------------------

    def getter(self, name: str) -> Callable[[int], Any]:
        """row -> stored value of field `name`."""
        if name in self.derived:
            source, fn = self.derived[name]
            col = self.columns[source]
            return lambda r: fn(col[r])
        return self.columns[name].__getitem__

    def served_getter(self, name: str) -> Callable[[int], Any]:
        """row -> JSON value of field `name`, as graph-node serves it."""
        get = self.getter(name)
        ser = serializer(self.spec.field(name))
        if ser is None:
            return get
        return lambda r: ser(get(r))

    def row_at(self, k: int, block: int) -> int:
        """The row of entity `k` visible at `block`, or -1 if it does not exist yet."""
        if not self.mutable:
            return k if self.vis[k] <= block else -1
        lo, hi = self.ent_start[k], self.ent_start[k + 1]
        if self.vis[hi - 1] <= block:
            return hi - 1
        j = bisect.bisect_right(self.vis, block, lo, hi) - 1
        return j if j >= lo else -1

    def visible_rows(self, block: int) -> list[int]:
        """Every entity's row at `block`, in the table's natural order."""
        if not self.mutable:
            vis = self.vis
            return [r for r in range(self.n_rows) if vis[r] <= block]
        rows = (self.row_at(k, block) for k in range(self.n_entities))
        return [r for r in rows if r >= 0]

    def served(self, row: int, fields: Sequence[str] | None = None) -> dict[str, Any]:
        names = fields or self.spec.field_names
        return {name: self.served_getter(name)(row) for name in names}

    @property
    def max_vis(self) -> int:
        return max(self.vis) if self.n_rows else 0

    # ---- indexes (built on first use, as clients tend to repeat one query shape) ----

    @property
    def id_perm(self) -> Sequence[int]:
        """Entity keys in id order."""
        if not self.time_ordered:
            return range(self.n_entities)
        if self._id_perm is None:
            self._id_perm = sorted(range(self.n_entities), key=self.ent_ids.__getitem__)
        return self._id_perm

    def key_of_id(self, entity_id: str) -> int | None:
        if self._id_lookup is None:
            self._id_lookup = {eid: k for k, eid in enumerate(self.ent_ids)}
        return self._id_lookup.get(entity_id)

    def eq_index(self, name: str) -> dict[Any, list[int]]:
        """value -> ascending entity keys that have (or, if mutable, ever had) that value.

        A superset is enough: every candidate is checked against the full filter.
        """
        index = self._eq_indexes.get(name)
        if index is None:
            index = {}
            get = self.getter(name)
            if self.mutable:
                starts = self.ent_start
                for k in range(self.n_entities):
                    seen = {get(r) for r in range(starts[k], starts[k + 1])}
                    for value in seen:
                        index.setdefault(value, []).append(k)
            else:
                for k in range(self.n_rows):
                    index.setdefault(get(k), []).append(k)
            self._eq_indexes[name] = index
        return index
