"""The dbt marts against the independent Python reference, on DuckDB and on PostgreSQL, and
an incremental refresh against a full rebuild."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.dbt_project.conftest import INCREMENTAL, MARTS, Warehouse, dataset_entities

pytestmark = [pytest.mark.transform, pytest.mark.slow]

TOLERANCE = Decimal("0.000001")
KEYS = {
    "traders_v2": ("wallet_address",),
    "trader_markets": ("wallet_address", "token_id"),
    "trader_stats": ("wallet_address", "day"),
    "leaderboard": ("time_window", "wallet_address"),
}
# columns that say when a row was written, not what it holds
WRITTEN = {"extracted_at", "as_of_epoch"}


def _same(actual, expected) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, dt.datetime):
        return int(actual.timestamp()) == expected
    if isinstance(expected, Decimal) or isinstance(actual, Decimal | float):
        a, e = Decimal(str(actual)), Decimal(expected)
        diff = abs(a - e)
        return diff <= TOLERANCE or diff <= TOLERANCE * abs(e)
    return actual == expected


def _compare(
    mart: str, rows: list[dict], expected: dict, as_of: int, key_columns: tuple[str, ...] = ()
) -> list[str]:
    key_columns = key_columns or KEYS[mart]
    expected = {k if isinstance(k, tuple) else (k,): v for k, v in expected.items()}
    actual = {tuple(r[k] for k in key_columns): r for r in rows}
    problems = []
    missing, extra = expected.keys() - actual.keys(), actual.keys() - expected.keys()
    if missing or extra:
        problems.append(
            f"{mart}: {len(missing)} rows missing, {len(extra)} extra: "
            f"{sorted(missing)[:3]} {sorted(extra)[:3]}"
        )
    sample = next(iter(expected.values()), {})
    # as_of is checked below; extracted_at is when the row was computed (the wall clock)
    uncovered = set(next(iter(rows), {})) - set(sample) - {"as_of", "extracted_at"}
    if rows and uncovered:
        problems.append(f"{mart}: columns without a reference value: {sorted(uncovered)}")
    for key in sorted(expected.keys() & actual.keys()):
        row, ref = actual[key], expected[key]
        if "as_of" in row and not _same(row["as_of"], as_of):
            problems.append(f"{mart} {key}: as_of {row['as_of']} != {as_of}")
        for column, value in ref.items():
            if not _same(row[column], value):
                problems.append(f"{mart} {key} {column}: {row[column]!r} != reference {value!r}")
    return problems


def test_marts_match_reference(built_demo: Warehouse, demo_reference):
    problems = []
    for mart in KEYS:
        rows = built_demo.query(f"select * from marts.{mart}")
        assert rows, f"{mart} is empty"
        problems += _compare(mart, rows, getattr(demo_reference, mart), demo_reference.as_of)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])
    print(
        f"\n{built_demo.engine}: full dbt build on demo"
        f" took {built_demo.timings['full build']:.1f}s"
    )


def test_watermark_is_the_newest_event(built_demo: Warehouse, demo_reference):
    (row,) = built_demo.query("select * from marts.data_watermark")
    assert row["as_of_epoch"] == demo_reference.as_of
    assert int(row["as_of"].timestamp()) == demo_reference.as_of


def test_sum_of_trader_volumes_is_attributed_fill_volume(built_demo: Warehouse, demo_reference):
    (row,) = built_demo.query(
        "select sum(volume) as volume, sum(trades) as trades from marts.traders_v2"
    )
    expected = sum(t["volume"] for t in demo_reference.traders_v2.values())
    assert Decimal(str(row["volume"])) == expected
    assert row["trades"] == sum(t["trades"] for t in demo_reference.traders_v2.values())


def _snapshot(wh: Warehouse) -> dict[str, list[tuple]]:
    tables = [
        *(
            f"intermediate.{m}"
            for m in (
                "int_fills_attributed",
                "int_conditions_resolved",
                "int_position_events_unioned",
                "int_position_events_folded",
                "int_token_prices_daily",
                "int_position_summaries",
                "int_position_equity_windowed",
                "int_trader_markets_summarized",
            )
        ),
        *(f"marts.{m}" for m in MARTS),
        "marts.position_reconciliation",
    ]
    snapshot = {}
    for table in tables:
        rows = wh.query(f"select * from {table}")
        snapshot[table] = sorted(
            # when the rows landed (the wall clock) and the as_of they were written at, not the
            # data: a row not rewritten holds at the newer as_of too
            (tuple(sorted((k, str(v)) for k, v in r.items() if k not in WRITTEN)) for r in rows),
            key=str,
        )
    return snapshot


def _traded_tokens(entities: dict[str, list[dict]]) -> set[str]:
    return {
        token
        for f in entities["order_filled_events"]
        for token in (f["makerAssetId"], f["takerAssetId"])
        if token != "0"
    }


def _changed_rows(before: dict[str, list[dict]], after: dict[str, list[dict]]):
    changed = {}
    for table, rows in after.items():
        previous = {r["id"]: r for r in before[table]}
        changed[table] = [r for r in rows if previous.get(r["id"]) != r]
    return changed


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_incremental_refresh_equals_full_rebuild(engine, make_warehouse, incremental_dataset):
    ds = incremental_dataset
    fills = ds.entities("orderbook", "OrderFilledEvent")
    # the second load crosses midnight: every token gains a day, traded that day or not
    last_midnight = max(int(f["timestamp"]) for f in fills) // 86400 * 86400
    early_block = ds.chain.block_at(last_midnight - 2 * 3600)
    early, late = dataset_entities(ds, early_block), dataset_entities(ds)
    assert len(early["order_filled_events"]) < len(late["order_filled_events"])
    # some events arrive late, behind events already folded: the refresh must refold those
    early_ids = {f["id"] for f in early["order_filled_events"]}
    newest_early = max(int(f["timestamp"]) for f in early["order_filled_events"])
    assert any(
        f["id"] not in early_ids and int(f["timestamp"]) < newest_early
        for f in late["order_filled_events"]
    )

    # The first load lags on a few conditions, as their extraction can lag the fills': some
    # traded conditions land only with the second load (their fills gain a condition, their
    # splits and merges become events), and some resolved ones land unresolved and resolve
    # with the second load (their redemptions become events).
    early_fill_tokens = _traded_tokens(early)
    redeemed = {r["condition"] for r in early["redemptions"]}
    traded = sorted(
        c["id"]
        for c in early["conditions"]
        if early_fill_tokens & set(c["positionIds"]) and c["id"] not in redeemed
    )
    withheld = set(traded[:: max(len(traded) // 3, 1)][:3])
    unresolved = set(sorted(c["id"] for c in early["conditions"] if c["id"] in redeemed)[:3])
    assert len(withheld) == 3 and len(unresolved) == 3
    early["conditions"] = [
        {**c, "payoutNumerators": [], "payoutDenominator": "0"} if c["id"] in unresolved else c
        for c in early["conditions"]
        if c["id"] not in withheld
    ]
    early["market_data"] = [m for m in early["market_data"] if m["condition"] not in withheld]
    # and the first redemption of a few other resolved conditions lands only with the second
    # load: their resolved_at (the first redemption's time) moves earlier, which closes and
    # re-marks every position in them, not only the redeemer's
    first_redemptions = {}
    for r in sorted(early["redemptions"], key=lambda r: (int(r["timestamp"]), r["id"])):
        first_redemptions.setdefault(r["condition"], r["id"])
    later_redeemed = {
        r["condition"] for r in early["redemptions"] if r["id"] != first_redemptions[r["condition"]]
    }
    moved = set(sorted(later_redeemed - unresolved)[:3])
    assert len(moved) == 3
    early["redemptions"] = [
        r
        for r in early["redemptions"]
        if r["condition"] not in moved or r["id"] != first_redemptions[r["condition"]]
    ]
    # and Gamma's metadata of a few traded markets with no other news lands only with the
    # second load: their positions are named then, though nothing else of theirs moved
    news = _changed_rows(early, late)
    moved_tokens = _traded_tokens(news)
    moved_conditions = {
        r["condition"] for table in ("redemptions", "splits", "merges") for r in news[table]
    }
    quiet = sorted(
        c["id"]
        for c in early["conditions"]
        if c["id"] in traded
        and c["id"] not in withheld | unresolved | moved_conditions
        and not moved_tokens & set(c["positionIds"])
    )
    relabelled = set(quiet[:3])
    assert any(m["condition_id"] in relabelled for m in late["gamma_markets"])
    early["gamma_markets"] = [
        m for m in early["gamma_markets"] if m["condition_id"] not in relabelled
    ]

    refreshed = make_warehouse(engine, "incr")
    refreshed.load(early, early_block)
    refreshed.dbt("build", label="full build")
    # frozen positions kept by the refresh, some in tokens that trade again after the first load
    (frozen,) = refreshed.query(
        "select count(*) as positions from intermediate.int_position_equity_windowed e"
        " where e.is_frozen and e.token_id in"
        f" ({', '.join(repr(t) for t in _traded_tokens(_changed_rows(early, late)))})"
    )
    assert frozen["positions"] > 0
    # what an extraction lands: the rows new or changed since the first load
    refreshed.load(_changed_rows(early, late), ds.head_block)
    refreshed.dbt("build", label="incremental build")
    # positions that can still move are written only where a window start passed something of
    # theirs: some keep their rows
    (kept,) = refreshed.query(
        "select count(distinct e.trader_address || e.token_id) as positions"
        " from intermediate.int_position_equity_windowed e"
        " where not e.is_frozen and e.extracted_at"
        " < (select max(extracted_at) from intermediate.int_position_equity_windowed)"
    )
    assert kept["positions"] > 0
    # and the reconciliation compares again only the positions with news
    (compared,) = refreshed.query(
        "select count(*) as positions,"
        " sum(case when extracted_at < (select max(extracted_at)"
        " from marts.position_reconciliation) then 1 else 0 end) as kept"
        " from marts.position_reconciliation"
    )
    assert 0 < compared["kept"] < compared["positions"]

    rebuilt = make_warehouse(engine, "full")
    rebuilt.load(late, ds.head_block)
    rebuilt.dbt("build", "--full-refresh", label="full build")

    got, want = _snapshot(refreshed), _snapshot(rebuilt)
    for table in want:
        assert got[table] == want[table], f"{table} differs after the incremental refresh"
    added = len(late["order_filled_events"]) - len(early["order_filled_events"])
    print(
        f"\n{engine} ({INCREMENTAL['fills']} fills, +{added}):"
        f" full {rebuilt.timings['full build']:.1f}s, incremental"
        f" {refreshed.timings['incremental build']:.1f}s"
    )


def test_docs_generate_offline(built_demo: Warehouse):
    built_demo.dbt("docs", "generate")
    assert (built_demo.tmp / "target" / "catalog.json").exists()


def test_marts_across_the_cutover_match_reference(built_crossing: Warehouse, crossing_reference):
    """V1 events from the subgraphs, V2 fills and resolutions from the chain: every column of
    the four marts equals the reference, and so does the watermark."""
    problems = []
    for mart in KEYS:
        rows = built_crossing.query(f"select * from marts.{mart}")
        assert rows, f"{mart} is empty"
        problems += _compare(
            mart, rows, getattr(crossing_reference, mart), crossing_reference.as_of
        )
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])
    (row,) = built_crossing.query("select as_of_epoch from marts.data_watermark")
    assert row["as_of_epoch"] == crossing_reference.as_of


def test_the_crossing_world_exercises_both_eras(built_crossing: Warehouse, crossing_entities):
    """What the comparison above covers: V2 buys with fees, positions holding fills of both
    versions, conditions resolved on the chain, a 7d leaderboard made of V2 fills only."""
    (fills,) = built_crossing.query(
        """
        select
            sum(case when exchange_version = 2 and side = 'BUY' and fee_units > 0
                then 1 else 0 end) as v2_buys_with_fee,
            count(distinct case when exchange_version = 1 then trader_address || token_id end)
                as v1_positions,
            count(distinct case when exchange_version = 2 then trader_address || token_id end)
                as v2_positions
        from intermediate.int_fills_attributed
        """
    )
    assert fills["v2_buys_with_fee"] > 0 and fills["v1_positions"] > 0
    (mixed,) = built_crossing.query(
        """
        select count(*) as positions from (
            select trader_address, token_id from intermediate.int_fills_attributed
            group by trader_address, token_id
            having count(distinct exchange_version) = 2
        ) as both_versions
        """
    )
    assert mixed["positions"] > 0, "some positions should hold fills of both exchanges"
    (resolved,) = built_crossing.query(
        "select count(*) as n from intermediate.int_conditions_resolved "
        "where chain_resolution_epoch is not null and resolved_at_epoch = chain_resolution_epoch"
    )
    assert resolved["n"] > 0 and resolved["n"] == len(
        crossing_entities["chain_condition_resolutions"]
    )
    (window,) = built_crossing.query(
        """
        select count(*) as fills, sum(case when exchange_version = 2 then 1 else 0 end) as v2
        from intermediate.int_fills_attributed
        where filled_at_epoch > (select as_of_epoch - 7 * 86400 from marts.data_watermark)
        """
    )
    assert window["fills"] > 0 and window["v2"] == window["fills"]
    assert built_crossing.query("select * from marts.leaderboard where time_window = '7d'")
    (eras,) = built_crossing.query(
        """
        select
            sum(case when v2_trades = 0 and trades > 0 then 1 else 0 end) as v1_only,
            sum(case when v2_trades = trades and trades > 0 then 1 else 0 end) as v2_only,
            sum(case when v2_trades between 1 and trades - 1 then 1 else 0 end) as both_eras
        from marts.trader_markets
        """
    )
    assert eras["v1_only"] > 0 and eras["v2_only"] > 0 and eras["both_eras"] > 0, eras


def test_v2_operations_through_the_adapters_reach_the_ledger(
    built_crossing: Warehouse, crossing_reference, crossing_entities
):
    """The crossing world's V2 splits, merges, redemptions and conversions are attributed to
    their users (as the reference does, independently), the MINT/MERGE settlement legs of
    matches are not, and no position is left with a sell capped by missing shares."""
    from tests.reference.metrics import DEFAULT_EXCLUDED, _adapter_operations

    expected = _adapter_operations(crossing_entities, DEFAULT_EXCLUDED)
    rows = built_crossing.query(
        "select operation, trader_address, operation_id "
        "from intermediate.int_position_operations_attributed"
    )
    got = {kind: sorted((r["operation_id"], r["trader_address"]) for r in rows
                        if r["operation"] == kind) for kind in expected}  # fmt: skip
    assert got == {kind: sorted((o["id"], o["trader"]) for o in ops)
                   for kind, ops in expected.items()}  # fmt: skip
    assert all(got[kind] for kind in ("split", "merge", "redemption", "conversion")), got
    (legs,) = built_crossing.query(
        "select count(*) as n from intermediate.int_position_events_unioned "
        "where event_kind = 'conversion'"
    )
    assert legs["n"] == sum(len(c["legs"]) for c in expected["conversion"]) > 0
    settlement = len(crossing_entities["chain_position_operations"]) - len(rows)
    assert settlement > 0  # the MINT and MERGE legs of matches, dropped
    assert sum(p.capped for p in crossing_reference.positions.values()) == 0


def _never_held_redeemed_outcomes(entities) -> set[tuple[str, str]]:
    """(redeemer, token) pairs a V1 redemption names by its index sets (of a resolved
    condition) on which the redeemer has no fill, split or merge: outcomes it never held."""
    from tests.reference.metrics import DEFAULT_EXCLUDED, _tokens

    tokens = _tokens(entities)
    of_condition: dict[str, list[tuple[str, dict]]] = {}
    for token, info in tokens.items():
        of_condition.setdefault(info["condition"], []).append((token, info))
    held = set()
    for f in entities["order_filled_events"]:
        token = f["takerAssetId"] if f["makerAssetId"] == "0" else f["makerAssetId"]
        held.add((f["maker"].lower(), token))
    for s in [*entities["splits"], *entities["merges"]]:
        for token, _ in of_condition.get(s["condition"].lower(), []):
            held.add((s["stakeholder"].lower(), token))
    named = set()
    for r in entities["redemptions"]:
        redeemer = r["redeemer"].lower()
        if redeemer in DEFAULT_EXCLUDED:
            continue
        index_sets = [int(x) for x in r["indexSets"]]
        for token, info in of_condition.get(r["condition"].lower(), []):
            if info["payout"] is not None and any((b >> info["index"]) & 1 for b in index_sets):
                named.add((redeemer, token))
    return named - held


def test_trader_markets_hold_only_positions_the_trader_held(
    built_demo: Warehouse, demo_entities, demo_reference
):
    """A redemption names outcomes by index set, held or not: the demo world has redemptions
    naming outcomes their redeemer never held, and none of them is a row of trader_markets
    (nor of the reference), so no row lacks a fill, split, merge and redemption."""
    never_held = _never_held_redeemed_outcomes(demo_entities)
    assert never_held, "the demo world should redeem outcomes its redeemers never held"
    rows = built_demo.query("select * from marts.trader_markets")
    positions = {(r["wallet_address"], r["token_id"]) for r in rows}
    assert not positions & never_held
    assert not demo_reference.positions.keys() & never_held
    assert positions == set(demo_reference.trader_markets)
    empty = [
        r
        for r in rows
        if r["trades"] == 0
        and not any(r[c] for c in ("split_shares", "merged_shares", "redeemed_shares"))
    ]
    assert not empty, f"{len(empty)} rows with no trade, split, merge or redemption: {empty[:2]}"


def test_risk_columns_are_exercised(demo_reference):
    """What the comparison of traders_v2 with the reference covers: windows with closed
    trader-markets, traders with losses and drawdowns, leaderboard rows with a win rate."""
    traders = demo_reference.traders_v2.values()
    for window in ("1d", "7d", "30d"):
        assert any(t[f"wins_{window}"] and t[f"losses_{window}"] for t in traders), window
    assert any(t["wins"] != t["wins_30d"] for t in traders)
    assert sum(1 for t in traders if t["profit_factor"] is not None) > 10
    assert sum(1 for t in traders if t["max_drawdown"] > 0) > 10
    assert any(t["max_drawdown"] > 0 and t["total_pnl"] > 0 for t in traders)
    assert any(row["win_rate"] is not None for row in demo_reference.leaderboard.values())


@pytest.mark.parametrize("window", ["1d", "7d", "30d", "all"])
def test_leaderboard_query_ranks_by_the_windows_win_rate(built_demo, demo_reference, window):
    """The API's ranking query sorted by win_rate ranks a window's traders by the win rate of
    the trader-markets closed in that window, as the reference does (nulls last)."""
    from api import queries
    from tests.reference.metrics import round6

    suffix = "" if window == "all" else f"_{window}"
    eligible = [
        t
        for t in demo_reference.traders_v2.values()
        if t[f"trades{suffix}"] >= 1 and t[f"volume{suffix}"] >= 1
    ]
    rates = {t["wallet_address"]: t[f"win_rate{suffix}"] for t in eligible}
    if window != "all":  # the check means something only if the window changes the rates
        assert any(rates[t["wallet_address"]] != t["win_rate"] for t in eligible)
    rated = [round6(r) for r in rates.values() if r is not None]
    expected = sorted(
        (wallet, 1 + sum(1 for o in rated if o > round6(r)) if r is not None else len(rated) + 1)
        for wallet, r in rates.items()
    )
    sql = queries.leaderboard(window, "win_rate", "desc") % {
        "min_trades": "1",
        "min_volume": "1",
        "limit": "100000",
        "offset": "0",
    }
    rows = built_demo.query(sql)
    queries.rank_page(rows, "win_rate")
    assert sorted((r["wallet_address"], r["rank"]) for r in rows) == expected
    for r in rows:
        assert _same(r["win_rate"], rates[r["wallet_address"]])
