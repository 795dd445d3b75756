"""Gamma metadata: parsing real Gamma objects, the client against the simulator's Gamma face,
and landing markets, events and tags in both warehouses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.lib.entities import CONDITIONS
from orchestration.lib.gamma import GammaClient, GammaError, GammaRejected
from orchestration.lib.gamma_extract import full_refresh, lookup_missing, missing_conditions
from orchestration.lib.gamma_tables import event_row, market_row, rows_of_markets, tag_row
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.gamma import LATE_EVERY, MISSING_EVERY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gamma"


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def _client(sim, **options) -> GammaClient:
    return GammaClient(sim.gamma_url, min_interval=0.0, backoff_base=0.01, **options)


# ---- parsing real objects -------------------------------------------------------------


def test_real_market_parses_json_encoded_lists_and_gamma_dates():
    market = _fixture("market_239826_by_slug.json")
    row = market_row(market)
    assert row["id"] == "239826"
    assert row["condition_id"] == (
        "0x064d33e3f5703792aafa92bfb0ee10e08f461b1b34c02c1f02671892ede1609a"
    )
    assert row["outcomes"] == ["Yes", "No"]
    assert row["clob_token_ids"] == [
        "28182404005967940652495463228537840901055649726248190462854914416579180110833",
        "47044845753450022047436429968808601130811164131571549682541703866165095016290",
    ]
    assert row["question"].startswith("NBA: Will the Mavericks beat the Grizzlies")
    assert row["neg_risk"] is False and row["neg_risk_market_id"] is None
    assert row["closed"] is True
    assert row["start_date"] == 1638646503  # 2021-12-04T19:35:03.796Z
    assert row["closed_time"] == 1638736621  # "2021-12-05 20:37:01+00", Gamma's non-ISO form
    assert row["event_ids"] == ["2890"]
    assert json.loads(row["payload"])["fee"] == "20000000000000000"  # unknown keys kept


def test_real_event_and_tags_parse():
    event = event_row(_fixture("event_2890.json"))
    assert event["id"] == "2890"
    assert event["title"].startswith("NBA: Will the Mavericks")
    assert event["tag_ids"] == ["100215"]
    assert event["updated_at"] == 1777021674  # "2026-04-24T09:07:54.54613Z": 5 fraction digits
    assert "markets" not in json.loads(event["payload"])
    tags = [tag_row(t) for t in _fixture("tags_limit_1.json")]
    assert tags[0]["slug"] == "product-marekt-fit" and tags[0]["force_hide"] is False


# ---- the client against the Gamma face ------------------------------------------------


@pytest.fixture(scope="session")
def tiny_gamma(sim_tiny):
    """The tiny world's markets as the Gamma face lists them, and those it lacks."""
    from subgraph_sim.generator import generate

    dataset = generate("tiny")
    with _client(sim_tiny) as client:
        listed = [m for page in client.markets() for m in page]
    return dataset, listed


def test_every_market_of_the_world_is_listed_but_the_missing_and_late(tiny_gamma, sim_tiny):
    dataset, listed = tiny_gamma
    conditions = [c for c in dataset.entities("pnl", "Condition")]
    assert len(conditions) == dataset.info["markets"]
    listed_ids = {m["conditionId"] for m in listed}
    catalog = {m["conditionId"] for m in dataset.gamma.markets}
    # The missing one (index 5) is not in Gamma at all; every other market is.
    assert len(catalog) == dataset.info["markets"] - 1
    assert len({c["id"] for c in conditions} - catalog) == 1
    # Late ones (index 8) are listed only once the world's clock passes their createdAt.
    late = [m for m in dataset.gamma.markets if m["id"] == str(500_000 + 8)]
    assert listed_ids <= catalog
    assert LATE_EVERY > 8 and MISSING_EVERY > 5
    for market in listed:
        labels = json.loads(market["outcomes"])
        tokens = json.loads(market["clobTokenIds"])
        assert len(labels) == len(tokens) == 2
        assert market["tags"], "include_tag=true lists the tags"
    if late:
        head_time = sim_tiny.state()["head_timestamp"]
        created = late[0]["createdAt"]
        assert (late[0]["conditionId"] in listed_ids) == (created <= _iso(head_time)), (
            "a late market is listed exactly when the clock has passed its createdAt"
        )


def _iso(ts: int) -> str:
    from subgraph_sim.gamma import iso

    return iso(ts)


def test_keyset_pages_and_lookup_by_condition(tiny_gamma, sim_tiny):
    _, listed = tiny_gamma
    with _client(sim_tiny) as client:
        pages = list(client.keyset("/markets/keyset", "markets", {"closed": "true"}, limit=2))
        assert all(len(p) <= 2 for p in pages)
        paged = [m["id"] for p in pages for m in p]
        assert len(paged) == len(set(paged)) == sum(1 for m in listed if m["closed"])
        wanted = [m["conditionId"] for m in listed[:3]] + ["0x" + "ab" * 32]
        found = [m for page in client.markets_by_condition(wanted) for m in page]
        assert sorted(m["conditionId"] for m in found) == sorted(wanted[:3])


def test_gamma_rejections_fail_at_once(sim_tiny):
    with _client(sim_tiny) as client:
        with pytest.raises(GammaRejected, match="offset is not supported"):
            client.get("/markets/keyset", {"offset": 100})
        with pytest.raises(GammaRejected, match="order fields are not valid"):
            client.get("/markets/keyset", {"order": "volume"})
        assert client.requests_sent == 2, "a rejection is not retried"


def test_gamma_outage_is_retried_then_named(sim_tiny):
    sim_tiny.control(gamma_fault_rate=1.0, fault_modes=["429", "503"])
    try:
        with _client(sim_tiny, max_attempts=3) as client:
            with pytest.raises(GammaError, match="failed after 3 attempts") as failure:
                client.get("/tags", {"limit": 10})
            assert not isinstance(failure.value, GammaRejected)
            assert client.retries == 2
    finally:
        sim_tiny.control(reset=True)


# ---- landing --------------------------------------------------------------------------


def _seed_conditions(wh, dataset) -> None:
    rows = dataset.entities("pnl", "Condition")
    wh.upsert(CONDITIONS, [{f: r.get(f) for f in CONDITIONS.fields} for r in rows], 1)


def test_lookup_lands_the_missing_conditions_then_a_full_refresh(
    sim_tiny, tiny_gamma, warehouse_url
):
    dataset, listed = tiny_gamma
    database_url, duckdb_path = warehouse_url
    with connect_warehouse(database_url, duckdb_path) as wh:
        wh.ensure_raw_schema()
        assert wh.fetchone("select count(*) from raw.gamma_markets")[0] == 0
        _seed_conditions(wh, dataset)
        with _client(sim_tiny) as client:
            result = lookup_missing(client, wh, now=1_000)
            assert result.looked_up == dataset.info["markets"]
            assert result.rows["gamma_markets"] == len(listed)
            assert result.still_missing == dataset.info["markets"] - len(listed)
            events = {e for m in listed for e in (x["id"] for x in m["events"])}
            assert result.rows["gamma_events"] == len(events)
            # What Gamma lacks is not asked again before retry_missing_seconds...
            again = lookup_missing(client, wh, now=2_000)
            assert again.looked_up == 0
            assert len(missing_conditions(wh)) == result.still_missing
            # ... and is after it.
            assert lookup_missing(client, wh, now=1_000 + 6 * 3600).looked_up == (
                result.still_missing
            )
            full = full_refresh(client, wh)
        assert full.rows["gamma_markets"] == len(listed)
        stored = dict(wh.fetchall("select condition_id, outcomes from raw.gamma_markets"))
        for market in listed:
            assert list(stored[market["conditionId"]]) == json.loads(market["outcomes"])
        tags = wh.fetchall("select count(*) from raw.gamma_tags")[0][0]
        assert tags == len(dataset.gamma.tags)
        event_tags = wh.fetchall(
            "select count(*) from raw.gamma_events where cardinality(tag_ids) = 0"
        )[0][0]
        assert event_tags == 0, "every event landed with its tags"
        # Rows re-read unchanged keep their load stamp.
        stamp = wh.fetchone("select max(_extracted_at) from raw.gamma_markets")[0]
        wh.load_gamma(rows_of_markets(listed))
        assert wh.fetchone("select max(_extracted_at) from raw.gamma_markets")[0] == stamp


def test_dump_writes_gamma_objects_as_gamma_returns_them(tmp_path):
    from subgraph_sim.dataset import Dataset
    from subgraph_sim.generator import generate

    world = generate("crossing")
    world.dump(tmp_path)
    lines = (tmp_path / "gamma" / "markets.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert isinstance(first["outcomes"], str) and isinstance(first["clobTokenIds"], str)
    assert "negRiskMarketID" not in first or first["negRisk"]
    assert len(lines) == len(world.gamma.markets)
    again = Dataset.load(tmp_path)
    assert again.gamma.markets == world.gamma.markets
    assert again.gamma.events == world.gamma.events
    # Every market of the crossing world, V1 and V2 alike, but the missing one.
    assert len(world.gamma.markets) == world.info["markets"] - 1


def test_a_gamma_outage_delays_metadata_not_the_marts(tmp_path):
    """Gamma answers only 429s and 503s: the full sync still builds and publishes every mart,
    with the same money as the reference, and `gamma_metadata_fresh` fails naming Gamma."""
    from decimal import Decimal

    import dagster as dg

    from orchestration.lib.entities import ENTITIES
    from subgraph_sim.generator import generate
    from subgraph_sim.process import start_sim
    from tests.reference.metrics import compute

    with start_sim("tiny", gamma_fault_rate=1.0, fault_modes=["429", "503"]) as sim:
        with pytest.MonkeyPatch.context() as env:
            for subgraph in ("orderbook", "pnl", "activity"):
                env.setenv(f"SUBGRAPH_{subgraph.upper()}_URL", sim.url(subgraph))
            env.setenv("GAMMA_API_URL", sim.gamma_url)
            env.delenv("DATABASE_URL", raising=False)
            env.setenv("DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
            env.setenv("SNAPSHOT_DIR", str(tmp_path / "snapshot"))
            from orchestration.definitions import defs

            job = defs().resolve_job_def("full_sync_job")
            with dg.DagsterInstance.ephemeral() as instance:
                result = job.execute_in_process(instance=instance, raise_on_error=False)
        faults = sim.state()["counters"]

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert faults.get("faults.503", 0) + faults.get("faults.429", 0) > 0
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    gamma = checks["gamma_metadata_fresh"]
    assert not gamma.passed and "did not answer" in gamma.description
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "api/marts_publication" in materialized

    world = generate("tiny")
    reference = compute(
        {e.table: world.entities(e.subgraph, e.graphql_type) for e in ENTITIES}
    ).traders_v2
    with connect_warehouse(None, str(tmp_path / "warehouse.duckdb")) as wh:
        rows = wh.fetchall("select wallet_address, total_pnl, volume from marts.traders_v2")
        named = wh.fetchone("select count(*) from marts.markets where question <> condition_id")
    assert named == (0,), "no metadata landed"
    assert {r[0] for r in rows} == set(reference)
    for wallet, pnl, volume in rows:
        assert abs(Decimal(str(pnl)) - reference[wallet]["total_pnl"]) <= Decimal("0.000001")
        assert Decimal(str(volume)) == reference[wallet]["volume"]
