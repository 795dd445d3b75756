"""Ground truth for raw tables: the local subgraph's entities, and the raw tables, in one form."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.defs.polymarket import assets as raw_assets
from orchestration.defs.polymarket import checks as raw_checks
from orchestration.defs.resources import (
    ChainResource,
    PipelineSettings,
    SubgraphsResource,
    WarehouseResource,
)
from orchestration.lib.addresses import DEFAULT_EXCLUDED_ADDRESSES
from orchestration.lib.entities import ORDER_FILLED_EVENTS, USER_POSITIONS, Entity
from orchestration.lib.warehouse import Warehouse

RAW_ASSETS = [
    raw_assets.order_filled_events,
    raw_assets.splits,
    raw_assets.merges,
    raw_assets.redemptions,
    raw_assets.market_data,
    raw_assets.conditions,
    raw_assets.user_positions,
]
RAW_CHECKS = [
    raw_checks.orderbook_source_fresh,
    raw_checks.pnl_source_fresh,
    raw_checks.activity_source_fresh,
]


def _norm(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bigint":
        return str(int(value))
    if kind == "int":
        return int(value)
    if kind == "bigints":
        return tuple(str(int(v)) for v in value)
    if kind == "texts":
        return tuple(str(v) for v in value)
    return str(value)


def _row(entity: Entity, values: list[Any]) -> tuple:
    return tuple(_norm(kind, v) for (_, kind), v in zip(entity.columns, values, strict=True))


def served(dataset, entity: Entity, block: int | None = None) -> dict[str, tuple]:
    rows = dataset.entities(entity.subgraph, entity.graphql_type, block=block)
    return {r["id"]: _row(entity, [r.get(f) for f in entity.fields]) for r in rows}


def loaded(warehouse: Warehouse, entity: Entity) -> dict[str, tuple]:
    cols = ", ".join(f'"{f}"' for f in entity.fields)
    rows = warehouse.fetchall(f"select {cols} from raw.{entity.table}")
    result = {r[0]: _row(entity, list(r)) for r in rows}
    assert len(result) == len(rows), f"duplicate ids in raw.{entity.table}"
    return result


def followed(dataset, top: int = 50, block: int | None = None) -> set[str]:
    """The wallets whose positions are synced: top makers by USDC volume, contracts excluded."""
    volume: dict[str, int] = {}
    for fill in dataset.entities("orderbook", ORDER_FILLED_EVENTS.graphql_type, block=block):
        usdc = (
            fill["makerAmountFilled"] if fill["makerAssetId"] == "0" else fill["takerAmountFilled"]
        )
        maker = fill["maker"].lower()
        volume[maker] = volume.get(maker, 0) + int(usdc)
    ranked = sorted(
        (m for m in volume if m not in DEFAULT_EXCLUDED_ADDRESSES), key=lambda m: (-volume[m], m)
    )
    return set(ranked[:top])


def served_positions(dataset, block: int | None = None) -> dict[str, tuple]:
    wallets = followed(dataset, block=block)
    return {
        k: v for k, v in served(dataset, USER_POSITIONS, block).items() if v[1].lower() in wallets
    }


def resources(sim, database_url: str | None, duckdb_path: str | None, **settings) -> dict:
    return {
        "warehouse": WarehouseResource(database_url=database_url, duckdb_path=duckdb_path or ""),
        "subgraphs": SubgraphsResource(
            orderbook_url=sim.url("orderbook"),
            pnl_url=sim.url("pnl"),
            activity_url=sim.url("activity"),
            max_attempts=10,
        ),
        "settings": PipelineSettings(**settings),
        "chain": ChainResource(),  # the chain source off: the subgraph-only checks
    }


def materialize_raw(sim, database_url, duckdb_path, run_config=None, **settings):
    return dg.materialize(
        RAW_ASSETS,
        resources=resources(sim, database_url, duckdb_path, **settings),
        run_config=run_config,
        raise_on_error=True,
    )


def assert_same(actual: dict[str, tuple], expected: dict[str, tuple], what: str) -> None:
    """Equal row sets, or a failure that says which ids are missing, extra or different."""
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    different = [k for k in expected.keys() & actual.keys() if expected[k] != actual[k]]
    if missing or extra or different:
        example = different[0] if different else None
        raise AssertionError(
            f"{what}: {len(actual)} rows loaded, {len(expected)} expected; "
            f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), "
            f"{len(extra)} extra (e.g. {sorted(extra)[:3]}), {len(different)} different"
            + (f" (e.g. {example}: {actual[example]} != {expected[example]})" if example else "")
        )
    assert expected, f"{what}: the source has no rows, so the comparison proves nothing"
