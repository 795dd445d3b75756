"""Reconciliation with Polymarket's pnl subgraph: on the demo world and the crossing world, on
DuckDB and PostgreSQL, every difference between the ledger and the subgraph's UserPosition is
explained; both sides equal what the raw events say; a ledger with one fee sign flipped fails
the reconciliation check."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from decimal import Decimal

import pytest

from orchestration.defs.dbt.checks import reconciliation_verdict
from orchestration.lib.dbt_env import DBT_PROJECT_DIR, dbt_command
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate
from tests.dbt_project.conftest import Warehouse, dataset_entities
from tests.reference.metrics import DEFAULT_EXCLUDED

pytestmark = [pytest.mark.transform, pytest.mark.slow]

ONE = Decimal(1_000_000)
TOLERANCE = Decimal("0.000001")
CLASSES = {None, "rounding", "fees", "missing_events"}


def _verdict(wh: Warehouse):
    with connect_warehouse(database_url=wh.database_url, duckdb_path=wh.duckdb_path) as conn:
        return reconciliation_verdict(conn)


def _v1_fees(entities) -> tuple[dict, dict]:
    """Fee shares of V1 BUYs and fee USDC of V1 SELLs per (maker, token), from the raw fills."""
    buy_fees: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    sell_fees: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for f in entities["order_filled_events"]:
        maker = f["maker"].lower()
        if f["makerAssetId"] == "0":
            buy_fees[(maker, f["takerAssetId"])] += Decimal(f["fee"]) / ONE
        else:
            sell_fees[(maker, f["makerAssetId"])] += Decimal(f["fee"]) / ONE
    return buy_fees, sell_fees


def _check_world(wh: Warehouse, entities, reference, world: str) -> dict:
    rows = wh.query("select * from marts.position_reconciliation")
    summary = wh.query("select * from marts.position_reconciliation_summary")[0]
    verdict = _verdict(wh)
    print(
        f"\n{wh.engine} {world}: agreement {summary['agreement_pct']}% of "
        f"{summary['positions']} positions ({summary['wallets']} wallets): "
        f"{summary['identical']} identical, {summary['rounding']} rounding, "
        f"{summary['fees']} fees, {summary['missing_events']} missing events, "
        f"{summary['other']} other; check: {verdict.description}"
    )
    by_class = defaultdict(int)
    for r in rows:
        by_class[r["difference_class"]] += 1
    assert set(by_class) <= CLASSES, dict(by_class)
    assert verdict.passed, verdict.description
    assert verdict.metadata["agreement_pct"].value == float(summary["agreement_pct"])
    assert summary["other"] == 0 and summary["positions"] == len(rows)
    assert summary["agreeing"] == by_class[None] + by_class["rounding"]

    # The subgraph side is UserPosition as served, scaled; the ledger side is the reference's.
    excluded = {a.lower() for a in DEFAULT_EXCLUDED}
    served = {
        (p["user"].lower(), p["tokenId"]): p
        for p in entities["user_positions"]
        if p["user"].lower() not in excluded
    }
    followed = {wallet for wallet, _ in served}
    ledger = {k: v for k, v in reference.trader_markets.items() if k[0] in followed}
    assert {(r["wallet_address"], r["token_id"]) for r in rows} == set(served) | set(ledger)
    buy_fees, sell_fees = _v1_fees(entities)
    for r in rows:
        key = (r["wallet_address"], r["token_id"])
        p = served.get(key)
        assert r["in_subgraph"] == (p is not None)
        if p is not None:
            assert r["subgraph_shares"] == Decimal(p["amount"]) / ONE
            assert r["subgraph_avg_price"] == Decimal(p["avgPrice"]) / ONE
            assert r["subgraph_realized_pnl"] == Decimal(p["realizedPnl"]) / ONE
            assert r["subgraph_total_bought"] == Decimal(p["totalBought"]) / ONE
        expected = ledger.get(key)
        assert r["in_ledger"] == (expected is not None)
        if expected is not None:
            assert r["ledger_shares"] == expected["shares"]
            assert abs(r["ledger_avg_price"] - expected["avg_price"]) <= TOLERANCE
            assert abs(r["ledger_realized_pnl"] - expected["realized_pnl"]) <= TOLERANCE
            assert r["ledger_total_bought"] == (
                expected["bought_shares"] + expected["split_shares"]
            )
        if r["difference_class"] == "fees":
            # the subgraph counts a BUY's fee shares as bought, exactly
            assert buy_fees[key] + sell_fees[key] > 0
            assert r["total_bought_difference"] == buy_fees[key]
        if r["difference_class"] == "rounding":
            assert buy_fees[key] == sell_fees[key] == 0
            assert r["shares_difference"] == r["total_bought_difference"] == 0
            # truncation leaves the subgraph's average at or below the exact one
            assert -r["avg_price_tolerance"] <= r["avg_price_difference"] <= 0
    return summary


def test_demo_world_differences_are_all_explained(
    built_demo: Warehouse, demo_entities, demo_reference
):
    summary = _check_world(built_demo, demo_entities, demo_reference, "demo (seed 7)")
    # a V1-only world: both sides hold the same positions, fees make the differences
    assert summary["missing_events"] == 0
    assert summary["fees"] > 0 and summary["rounding"] > 0 and summary["identical"] > 0


def test_crossing_world_differences_are_all_explained(
    built_crossing: Warehouse, crossing_entities, crossing_reference
):
    summary = _check_world(
        built_crossing, crossing_entities, crossing_reference, "crossing (seed 5)"
    )
    # the frozen subgraph never saw the V2 era: positions it lacks, or lacks events of
    assert summary["missing_events"] > 0


# One fee sign flipped in the ledger's event derivation: a V1 BUY that adds its fee to the shares
# received instead of taking it from them; a V1 SELL that adds its fee to the USDC it realizes.
FLIPS = {
    "buy": ("then fills.share_units - fills.fee_units", "then fills.share_units + fills.fee_units"),
    "sell": (
        "'(fills.usdc_units - fills.fee_units) * ' ~ e18()",
        "'(fills.usdc_units + fills.fee_units) * ' ~ e18()",
    ),
}


def test_ledger_with_a_fee_sign_flipped_fails_the_check(make_warehouse, tmp_path):
    """Copies of the project with one fee sign flipped fail the reconciliation check, naming
    unexplained differences; the project as it is passes it on the same world."""
    projects = {"right": DBT_PROJECT_DIR}
    for name, (right, wrong) in FLIPS.items():
        project = tmp_path / f"dbt_project_{name}"
        shutil.copytree(
            DBT_PROJECT_DIR,
            project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
        )
        model = project / "models" / "intermediate" / "int_position_events_unioned.sql"
        sql = model.read_text()
        assert sql.count(right) == 1
        model.write_text(sql.replace(right, wrong))
        projects[f"{name} fee flipped"] = project

    world = generate("tiny", seed=3)
    entities = dataset_entities(world)
    verdicts = {}
    for name, project_dir in projects.items():
        wh = make_warehouse("duckdb", name.split()[0] + "_fee")
        wh.load(entities, world.head_block)
        command = dbt_command("run", target=wh.engine, target_path=wh.tmp / "target")
        command = [str(project_dir) if a == str(DBT_PROJECT_DIR) else a for a in command]
        result = subprocess.run(
            command, env=wh.env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, result.stdout[-4000:]
        verdicts[name] = _verdict(wh)
        print(f"\n{name} (tiny, seed 3): {verdicts[name].description}")
    assert verdicts["right"].passed
    assert verdicts["right"].metadata["class_fees"].value > 0
    for name in projects.keys() - {"right"}:
        wrong = verdicts[name]
        assert not wrong.passed, name
        assert wrong.metadata["class_other"].value > 0
        assert "| other |" in wrong.metadata["largest_differences"].value
