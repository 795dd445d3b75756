"""Chain extraction into raw tables against the local JSON-RPC face over real HTTP: the real V2
receipt through the Dagster asset, provider limits and faults (R9), reorgs (R8), a crash
between ranges, and confirmations. The face serves logs built with the `chain_logs` encoder;
the truth is the same logs held in-process (after the same reorg, where there is one)."""

from __future__ import annotations

import json
import random
import time

import dagster as dg
import pytest

from orchestration.defs.chain.assets import build_chain_assets
from orchestration.defs.resources import ChainResource, WarehouseResource
from orchestration.lib import ctf
from orchestration.lib.chain import ChainClient
from orchestration.lib.chain_extract import (
    CONDITIONAL_TOKENS,
    CURSOR,
    V2_EXCHANGES,
    extract_chain,
    log_filters,
    matches,
)
from orchestration.lib.chain_logs import (
    ConditionPreparation,
    ConditionResolution,
    OrderFilled,
    Side,
    decode_log,
    encode_log,
)
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.chain import polygon_chain
from subgraph_sim.process import start_sim
from subgraph_sim.synthetic_logs import build_store
from tests.chain_support import RECEIPT_BLOCK, RECEIPT_BLOCK_HASH, RECEIPT_BLOCK_TIME, receipt_path

pytestmark = pytest.mark.chain

FIRST = RECEIPT_BLOCK - 1500
LAST = RECEIPT_BLOCK + 1500
RECEIPT_TX = "0xc1375cac7b7fd147d57b2cfd639b0a295aa1fa56af3ec00b5de31fba3f00e609"


def _hex32(rng: random.Random) -> str:
    return "0x" + rng.randbytes(32).hex()


def _address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def build_world(count: int, seed: int = 3) -> list[dict]:
    """`count` encoded logs in transactions of 1-3 over [FIRST, LAST]: fills on the V2
    exchanges, condition preparations (standard and neg-risk) and resolutions on the CTF."""
    rng = random.Random(seed)
    chain = polygon_chain()
    by_block: dict[int, list[list]] = {}
    made = 0
    conditions: list[tuple[str, str, str]] = []
    while made < count:
        number = rng.randint(FIRST, LAST)
        if number == RECEIPT_BLOCK:
            continue
        tx = []
        for _ in range(min(rng.randint(1, 3), count - made)):
            tx.append(_event(rng, conditions))
            made += 1
        by_block.setdefault(number, []).append(tx)
    logs = []
    for number in sorted(by_block):
        index = 0
        for tx_index, tx in enumerate(by_block[number]):
            tx_hash = _hex32(rng)
            for kind, fields in tx:
                row = kind(
                    **fields,
                    transaction_hash=tx_hash,
                    log_index=index,
                    block_number=number,
                    block_hash=chain.block_hash(number),
                    transaction_index=tx_index,
                )
                log = encode_log(row)
                del log["blockHash"]  # the face's chain gives it, and the time
                logs.append(log)
                index += 1
    return logs


def _event(rng: random.Random, conditions: list) -> tuple[type, dict]:
    roll = rng.random()
    if roll < 0.08 or (roll < 0.12 and not conditions):
        oracle = ctf.NEG_RISK_ADAPTER if rng.random() < 0.4 else _address(rng)
        question = _hex32(rng)
        conditions.append((oracle, question, ctf.condition_id(oracle, question, 2)))
        return ConditionPreparation, {
            "contract": CONDITIONAL_TOKENS,
            "condition_id": conditions[-1][2],
            "oracle": oracle,
            "question_id": question,
            "outcome_slot_count": 2,
        }
    if roll < 0.12:
        oracle, question, condition = rng.choice(conditions)
        return ConditionResolution, {
            "contract": CONDITIONAL_TOKENS,
            "condition_id": condition,
            "oracle": oracle,
            "question_id": question,
            "outcome_slot_count": 2,
            "payout_numerators": rng.choice([(1, 0), (0, 1), (1, 1)]),
        }
    exchange = rng.choice(V2_EXCHANGES)
    return OrderFilled, {
        "contract": exchange,
        "order_hash": _hex32(rng),
        "maker": _address(rng),
        "taker": exchange if rng.random() < 0.3 else _address(rng),
        "side": rng.choice(list(Side)),
        "token_id": rng.getrandbits(256),
        "maker_amount_filled": rng.randint(1, 10**12),
        "taker_amount_filled": rng.randint(1, 10**12),
        "fee": rng.choice([0, rng.randint(1, 10**6)]),
        "builder": "0x" + "00" * 32,
        "metadata": _hex32(rng),
    }


@pytest.fixture(scope="module")
def world_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("chain") / "world.json"
    path.write_text(json.dumps(build_world(3000)))
    return str(path)


def world_sim(world_file: str, head: int = LAST):
    return start_sim("tiny", chain_logs=f"{receipt_path()},{world_file}", rpc_head_block=head)


def world_store(world_file: str, head: int = LAST):
    return build_store([receipt_path(), world_file], first_block=FIRST, blocks=1, head_block=head)


# ---- the truth, and what the warehouse holds ---------------------------------------------


def expected(store, hi: int) -> dict[str, set]:
    """Rows of each table as tuples of text, from the logs of [FIRST, hi] the source reads."""
    fills, preparations, resolutions = set(), set(), set()
    filters = log_filters()
    for log in store.iter_logs(FIRST, hi):
        if not matches(log, filters):
            continue
        row = decode_log(log)
        where = (row.transaction_hash, row.log_index, row.block_number, row.block_hash)
        when = store.block_timestamp(row.block_number)
        if isinstance(row, OrderFilled):
            fills.add(_text(
                row.contract, *where, when, row.order_hash, row.maker, row.taker, row.side.name,
                row.token_id, row.maker_amount_filled, row.taker_amount_filled, row.fee,
                row.builder, row.metadata,
            ))  # fmt: skip
        elif isinstance(row, ConditionPreparation):
            collateral = ctf.ctf_collateral(row.oracle)
            ids = ctf.token_ids(row.condition_id, collateral, row.outcome_slot_count)
            preparations.add(_text(
                *where, when, row.condition_id, row.oracle, row.question_id,
                row.outcome_slot_count, collateral, [str(i) for i in ids],
            ))  # fmt: skip
        elif isinstance(row, ConditionResolution):
            resolutions.add(_text(
                *where, when, row.condition_id, row.oracle, row.question_id,
                row.outcome_slot_count, [int(p) for p in row.payout_numerators],
            ))  # fmt: skip
    return {"fills": fills, "preparations": preparations, "resolutions": resolutions}


def _text(*values) -> tuple:
    return tuple(str([int(x) if isinstance(x, int) else x for x in v]) if isinstance(v, list)
                 else str(v) for v in values)  # fmt: skip


SELECTS = {
    "fills": """select exchange, transaction_hash, log_index, block_number, block_hash,
        block_time, order_hash, maker, taker, side, token_id, maker_amount_filled,
        taker_amount_filled, fee, builder, metadata from raw.chain_order_filled""",
    "preparations": """select transaction_hash, log_index, block_number, block_hash, block_time,
        condition_id, oracle, question_id, outcome_slot_count, collateral, position_ids
        from raw.chain_condition_preparations""",
    "resolutions": """select transaction_hash, log_index, block_number, block_hash, block_time,
        condition_id, oracle, question_id, outcome_slot_count, payout_numerators
        from raw.chain_condition_resolutions""",
}


def loaded(wh) -> dict[str, set]:
    tables = {}
    for name, sql in SELECTS.items():
        rows = wh.fetchall(sql)
        as_text = [
            _text(*[[int(x) for x in v] if name == "resolutions" and isinstance(v, list) else v
                    for v in row])
            for row in rows
        ]  # fmt: skip
        assert len(as_text) == len(set(as_text)), f"{name}: duplicate rows"
        tables[name] = set(as_text)
    return tables


def assert_blocks_consistent(wh, store) -> None:
    """Every row's block is recorded with the hash it came from, which is the chain's now."""
    blocks = dict(wh.fetchall("select block_number, block_hash from raw.chain_blocks"))
    for table in ("chain_order_filled", "chain_condition_preparations"):
        for number, block_hash in wh.fetchall(f"select block_number, block_hash from raw.{table}"):
            assert blocks[number] == block_hash
    for number, block_hash in blocks.items():
        assert block_hash == store.block_hash(number), f"block {number} is orphaned"


def run(sim, url, path, **options):
    with (
        ChainClient(sim.rpc_url, backoff_base=0.02, backoff_max=0.3) as client,
        connect_warehouse(url, path) as wh,
    ):
        wh.ensure_raw_schema()
        return extract_chain(
            client, wh, **{"start_block": FIRST, "confirmations": 8, **options},
            progress=lambda _: None, warn=lambda _: None,
        )  # fmt: skip


# ---- the real receipt through the asset ----------------------------------------------------


def test_the_real_receipt_lands_its_two_fills_through_the_asset(warehouse_url):
    database_url, duckdb_path = warehouse_url
    with start_sim("tiny", chain_logs=receipt_path(), rpc_head_block=RECEIPT_BLOCK + 40) as sim:
        result = dg.materialize(
            [build_chain_assets()],
            resources={
                "warehouse": WarehouseResource(
                    database_url=database_url, duckdb_path=duckdb_path or "unused"
                ),
                "chain": ChainResource(rpc_url=sim.rpc_url, start_block=RECEIPT_BLOCK - 10),
            },
        )
    assert result.success
    with connect_warehouse(database_url, duckdb_path) as wh:
        rows = wh.fetchall(
            "select exchange, transaction_hash, log_index, block_number, block_hash, block_time, "
            "maker, taker, side, token_id, maker_amount_filled, taker_amount_filled, fee, "
            "builder, source from raw.chain_order_filled order by log_index"
        )
        assert wh.fetchall("select count(*) from raw.chain_condition_preparations") == [(0,)]
        # the settlement split of the MINT match through the collateral adapter: its
        # PositionSplit and the adapter's two transfers (minted to it, sent to the exchange)
        operations = wh.fetchall(
            "select log_index, operation, stakeholder, condition_id, index_sets, amount "
            "from raw.chain_position_operations"
        )
        transfers = wh.fetchall(
            "select log_index, from_address, to_address, amounts "
            "from raw.chain_adapter_transfers order by log_index"
        )
        blocks = wh.fetchall("select block_number, block_hash, block_time from raw.chain_blocks")
        cursor = wh.get_cursor(CURSOR)
    exchange = "0xe111180000d2663c0091e4f400237545b87b996b"
    location = (exchange, RECEIPT_TX)
    at = (RECEIPT_BLOCK, RECEIPT_BLOCK_HASH, RECEIPT_BLOCK_TIME)
    zero = "0x" + "00" * 32
    assert [tuple(str(v) for v in row) for row in rows] == [
        _text(*location, 13, *at, "0xf5183756a0be58aa0b0960f1e2d2451894b631d5",
              "0x361b766227db19d4c8037595a9d4ced9fad81a24", "BUY",
              int("e393d694dfaf8c7b7dd6ab2199f7548cc893fa45c5919abeccbdd8e5f1499c20", 16),
              1_083_333, 2_083_332, 0, zero, "chain"),
        _text(*location, 15, *at, "0x361b766227db19d4c8037595a9d4ced9fad81a24", exchange, "BUY",
              int("652cf356c83a6ec58a7c67b7cb861950fd77cede1f8b49aa6bade166f9ca811d", 16),
              999_999, 2_083_332, 0, zero, "chain"),
    ]  # fmt: skip
    assert isinstance(rows[0][9], str)  # a 256-bit token id, kept as exact decimal text
    adapter = "0xada100874d00e3331d00f2007a9c336a65009718"
    condition = "0x182390641d3b1b47cc64274b9da290efd04221c586651ba190880713da6347d9"
    assert [(i, op, who, c, [int(x) for x in sets], int(amount))
            for i, op, who, c, sets, amount in operations] == [
        (10, "split", adapter, condition, [1, 2], 2_083_332)
    ]  # fmt: skip
    assert [(i, f, t, [int(x) for x in a]) for i, f, t, a in transfers] == [
        (9, "0x" + "00" * 20, adapter, [2_083_332, 2_083_332]),
        (11, adapter, exchange, [2_083_332, 2_083_332]),
    ]
    assert (RECEIPT_BLOCK, RECEIPT_BLOCK_HASH, RECEIPT_BLOCK_TIME) in blocks
    assert cursor["block"] == RECEIPT_BLOCK + 40 - 32  # CHAIN_CONFIRMATIONS' default


# ---- R9: limits and faults -------------------------------------------------------------------


def test_limits_and_faults_land_the_logs_exactly(world_file, warehouse_url):
    database_url, duckdb_path = warehouse_url
    store = world_store(world_file)
    with world_sim(world_file) as sim:
        sim.rpc_control(
            max_block_range=400, max_results=40, result_style="plain",
            fault_rate=0.1, fault_modes=["429", "503", "internal", "header_not_found"],
            retry_after_seconds=0,
        )  # fmt: skip
        result = run(sim, database_url, duckdb_path, max_block_range=1000)
        counters = sim.rpc_control()["counters"]
        again = run(sim, database_url, duckdb_path)  # nothing new: nothing twice
    truth = expected(store, LAST - 8)
    assert counters["faults"] >= 5, counters
    assert counters["limits.results"] > 0 and counters["limits.block_range"] > 0
    assert sum(len(v) for v in truth.values()) > 2500
    with connect_warehouse(database_url, duckdb_path) as wh:
        assert loaded(wh) == truth
        assert_blocks_consistent(wh, store)
        assert wh.get_cursor(CURSOR)["block"] == LAST - 8
    assert result.rows["chain_order_filled"] == len(truth["fills"])
    assert again.ranges == 0 and again.to_block == LAST - 8


# ---- R8: reorgs ------------------------------------------------------------------------------


def reorg_seed(world_file: str, depth: int) -> int:
    """A reorg that drops and moves transactions. Transactions it "changes" get random data,
    which no V2 event decodes from, so seeds with those are passed over."""
    for seed in range(200):
        summary = world_store(world_file).reorg(LAST, depth, seed)
        if summary["changed"] == 0 and summary["dropped"] and summary["moved"]:
            return seed
    raise AssertionError("no reorg seed drops and moves transactions without changing any")


def test_a_reorg_replaces_what_it_orphaned(world_file, warehouse_url):
    database_url, duckdb_path = warehouse_url
    depth = 60
    seed = reorg_seed(world_file, depth)
    with world_sim(world_file) as sim:
        run(sim, database_url, duckdb_path, reorg_window=80)
        with connect_warehouse(database_url, duckdb_path) as wh:
            before = loaded(wh)
        sim.rpc_control(reorg={"depth": depth, "seed": seed}, serve_removed=True)
        result = run(sim, database_url, duckdb_path, reorg_window=80)
    store = world_store(world_file)
    store.reorg(LAST, depth, seed)
    truth = expected(store, LAST - 8)
    assert before != truth  # the reorg changed loaded rows
    with connect_warehouse(database_url, duckdb_path) as wh:
        assert loaded(wh) == truth
        assert_blocks_consistent(wh, store)
    assert result.reorg_from is not None and result.reorg_from > LAST - depth


# ---- a crash between ranges, confirmations ----------------------------------------------------


class Crash(Exception):
    pass


def test_a_crash_after_a_commit_resumes_exactly(world_file, duckdb_path):
    store = world_store(world_file)
    with world_sim(world_file) as sim:
        with ChainClient(sim.rpc_url) as client, connect_warehouse(None, duckdb_path) as wh:
            wh.ensure_raw_schema()
            commit, commits = wh.load_chain, []

            def load_then_crash(*args, **kwargs):
                loaded_rows = commit(*args, **kwargs)
                commits.append(kwargs["cursor"][1]["block"])
                if len(commits) == 3:
                    raise Crash
                return loaded_rows

            wh.load_chain = load_then_crash
            with pytest.raises(Crash):
                extract_chain(client, wh, start_block=FIRST, confirmations=8,
                              max_block_range=300, progress=lambda _: None)  # fmt: skip
            assert wh.get_cursor(CURSOR)["block"] == commits[-1] < LAST - 8
        run(sim, None, duckdb_path, max_block_range=300)
    with connect_warehouse(None, duckdb_path) as wh:
        assert loaded(wh) == expected(store, LAST - 8)


def test_nothing_above_the_confirmed_head_lands(world_file, pg_database):
    head = RECEIPT_BLOCK + 200
    with world_sim(world_file, head=head) as sim:
        sim.rpc_control(block_timestamps=False)  # times from batched block headers
        run(sim, pg_database, None, confirmations=50)
        with connect_warehouse(pg_database) as wh:
            assert loaded(wh) == expected(world_store(world_file), head - 50)
            newest = wh.fetchone("select max(block_number) from raw.chain_blocks")[0]
            assert newest == head - 50
            sim.rpc_control(head_block=LAST)
            run(sim, pg_database, None, confirmations=50)
            assert loaded(wh) == expected(world_store(world_file), LAST - 50)
            assert_blocks_consistent(wh, world_store(world_file))


def test_the_chain_assets_join_the_jobs_only_with_an_rpc_url(monkeypatch):
    from orchestration.definitions import defs

    def chain_keys(job_name: str) -> set[str]:
        job = defs().resolve_job_def(job_name)
        return {k.to_user_string() for k in job.asset_layer.executable_asset_keys
                if k.path[-1].startswith("chain_")}  # fmt: skip

    monkeypatch.delenv("POLYGON_RPC_URL", raising=False)
    assert chain_keys("fetch_traders_job") == chain_keys("full_sync_job") == set()
    monkeypatch.setenv("POLYGON_RPC_URL", "http://127.0.0.1:9/rpc")
    tables = {"chain_order_filled", "chain_condition_preparations",
              "chain_condition_resolutions", "chain_position_operations",
              "chain_adapter_transfers", "chain_blocks"}  # fmt: skip
    assert (
        chain_keys("fetch_traders_job")
        == chain_keys("full_sync_job")
        == {f"polymarket/{t}" for t in tables}
    )


def test_a_mistyped_rpc_url_fails_the_step_at_once(duckdb_path):
    """A rejection (here a 404 from a wrong path) is not retried by the step's retry policy."""
    with start_sim("tiny", chain_logs=receipt_path(), rpc_head_block=RECEIPT_BLOCK + 40) as sim:
        started = time.monotonic()
        result = dg.materialize(
            [build_chain_assets()],
            resources={
                "warehouse": WarehouseResource(duckdb_path=duckdb_path),
                "chain": ChainResource(rpc_url=f"{sim.base_url}/rpcc", start_block=RECEIPT_BLOCK),
            },
            raise_on_error=False,
        )
    assert not result.success and time.monotonic() - started < 10
    kinds = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "HTTP 404" in failure.step_failure_data.error.message
