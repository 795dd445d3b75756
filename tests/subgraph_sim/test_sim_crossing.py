"""A world that crosses the V2 cutover: V1 entities in the subgraphs up to the cutover, V2
exchange fills and CTF conditions as chain logs on Polygon-numbered blocks, one world across
both faces."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
import requests

from orchestration.lib import chain_logs as C
from orchestration.lib import ctf
from orchestration.lib.chain import ChainClient
from orchestration.lib.chain_ranges import iter_logs
from subgraph_sim import v2_chain as V2
from subgraph_sim.chain import POLYGON_REFERENCE_BLOCK, POLYGON_REFERENCE_TIME
from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim

pytestmark = pytest.mark.sim

EXCHANGES = {V2.CTF_EXCHANGE_V2, V2.NEG_RISK_CTF_EXCHANGE_V2}
ADDRESSES = sorted(EXCHANGES | {V2.CONDITIONAL_TOKENS, V2.NEG_RISK_ADAPTER, V2.PUSD})
TOPIC0S = [C.topic0(t) for t in C.EVENT_TYPES]


@pytest.fixture(scope="module")
def world():
    return generate("crossing")


@pytest.fixture(scope="module")
def logs(world):
    return list(world.chain_logs.iter_logs(0, 10**12))


@pytest.fixture(scope="module")
def rows(logs):
    return [C.decode_log(log) for log in logs]


def _fills(rows):
    return [r for r in rows if isinstance(r, C.OrderFilled)]


def _by_tx(rows):
    txs = defaultdict(list)
    for row in _fills(rows):
        txs[row.transaction_hash].append(row)
    return txs


def test_crossing_world_is_deterministic(world, logs):
    again = generate("crossing")
    assert list(again.chain_logs.iter_logs(0, 10**12)) == logs
    for key in world.tables:
        assert again.entities(*key) == world.entities(*key), key


def test_every_log_decodes_and_is_keyed_uniquely(logs, rows):
    assert logs and len(rows) == len(logs)
    assert {r.contract for r in rows} <= EXCHANGES | {
        V2.CONDITIONAL_TOKENS, V2.NEG_RISK_ADAPTER, V2.PUSD
    }  # fmt: skip
    # fills, conditions, and the adapters' operations with their CTF and pUSD trail
    assert {type(r) for r in rows} == set(C.EVENT_TYPES)
    keys = {(r.transaction_hash, r.log_index) for r in rows}
    assert len(keys) == len(rows)
    # Every log re-encodes to itself: the world's logs are what the contracts emit.
    assert [C.encode_log(r) for r in rows] == logs


def test_each_match_has_one_taker_row_last_and_maker_rows_credit_the_taker(rows):
    for tx, fills in _by_tx(rows).items():
        taker_rows = [f for f in fills if f.taker in EXCHANGES]
        assert len(taker_rows) == 1, tx
        taker = taker_rows[0]
        assert fills[-1] is taker and taker.taker == taker.contract
        for maker in fills[:-1]:
            assert maker.taker == taker.maker and maker.maker != taker.maker


def test_mint_and_merge_makers_carry_the_complement_with_the_takers_side(world, rows):
    tokens_of = {}
    for row in rows:
        if isinstance(row, C.ConditionPreparation):
            collateral = ctf.ctf_collateral(row.oracle)
            for token in ctf.token_ids(row.condition_id, collateral):
                tokens_of[token] = ctf.token_ids(row.condition_id, collateral)
    kinds = defaultdict(int)
    for fills in _by_tx(rows).values():
        taker = fills[-1]
        pair = tokens_of[taker.token_id]
        for maker in fills[:-1]:
            if maker.side == taker.side:  # MINT (both BUY) or MERGE (both SELL)
                kinds["mint" if taker.side == C.Side.BUY else "merge"] += 1
                assert maker.token_id in pair and maker.token_id != taker.token_id
            else:
                kinds["complementary"] += 1
                assert maker.token_id == taker.token_id
        makers = fills[:-1]
        if all(m.side == taker.side for m in makers):
            # Both sides together pay (MINT) or receive (MERGE) one USDC a share.
            if taker.side == C.Side.BUY:
                usdc = taker.maker_amount_filled + sum(m.maker_amount_filled for m in makers)
                shares = taker.taker_amount_filled
                assert sum(m.taker_amount_filled for m in makers) == shares
            else:
                usdc = taker.taker_amount_filled + sum(m.taker_amount_filled for m in makers)
                shares = taker.maker_amount_filled
                assert sum(m.maker_amount_filled for m in makers) == shares
            assert usdc == shares
    assert kinds["mint"] and kinds["merge"] and kinds["complementary"]


def test_tokens_and_conditions_are_the_ctfs(world, rows):
    prepared = {r.condition_id: r for r in rows if isinstance(r, C.ConditionPreparation)}
    conditions = world.entities("pnl", "Condition")
    assert conditions
    tokens = set()
    for condition_id, prep in prepared.items():
        assert ctf.condition_id(prep.oracle, prep.question_id, 2) == condition_id
        tokens |= set(ctf.token_ids(condition_id, ctf.ctf_collateral(prep.oracle)))
    for condition in conditions:  # V1 and the chain agree on every condition's tokens
        prep = prepared[condition["id"]]
        computed = ctf.token_ids(condition["id"], ctf.ctf_collateral(prep.oracle))
        assert tuple(int(t) for t in condition["positionIds"]) == computed
    assert {int(m["id"]) for m in world.entities("orderbook", "MarketData")} <= tokens
    fills = _fills(rows)
    assert {f.token_id for f in fills} <= tokens
    neg_risk = {f.contract for f in fills}
    assert neg_risk == EXCHANGES  # both exchanges trade
    for fill in fills:
        oracle = next(p.oracle for p in prepared.values() if fill.token_id in _tokens(p))
        assert (fill.contract == V2.NEG_RISK_CTF_EXCHANGE_V2) == (oracle == V2.NEG_RISK_ADAPTER)


def _tokens(prep):
    return ctf.token_ids(prep.condition_id, ctf.ctf_collateral(prep.oracle))


def test_resolutions_agree_with_the_pnl_subgraph(world, rows):
    resolved = {r.condition_id: r for r in rows if isinstance(r, C.ConditionResolution)}
    assert resolved
    v1 = {c["id"]: c for c in world.entities("pnl", "Condition") if c["payoutDenominator"] != "0"}
    for condition_id, condition in v1.items():
        payouts = tuple(int(p) for p in condition["payoutNumerators"])
        assert resolved[condition_id].payout_numerators == payouts


def test_v1_entities_stop_at_the_cutover_and_v2_fills_start_at_deployment(world, rows):
    chain = world.chain
    cutover_block = world.head_block
    assert chain.block_timestamp(cutover_block) <= V2.CUTOVER_TIME
    assert chain.block_timestamp(cutover_block + 1) > V2.CUTOVER_TIME
    for key, table in world.tables.items():
        assert table.max_vis <= cutover_block, key
    assert world.last_block == cutover_block
    fills = world.entities("orderbook", "OrderFilledEvent")
    assert fills and max(int(f["timestamp"]) for f in fills) < V2.CUTOVER_TIME
    v2 = _fills(rows)
    before = [f for f in v2 if f.block_number <= cutover_block]
    after = [f for f in v2 if f.block_number > cutover_block]
    assert before and len(after) > len(before)  # a small share of V2 precedes the cutover
    assert min(f.block_number for f in v2) >= V2.V2_DEPLOY_BLOCK
    assert max(r.block_number for r in rows) <= world.chain_logs.head_block


def test_chain_is_numbered_and_dated_as_polygon(world, rows):
    assert world.chain.block_timestamp(POLYGON_REFERENCE_BLOCK) == POLYGON_REFERENCE_TIME
    assert world.chain.block_timestamp(V2.V2_DEPLOY_BLOCK) // 86400 == 20543  # 2026-03-31
    for row in rows:
        assert row.block_timestamp == world.chain.block_timestamp(row.block_number)
        assert row.block_hash == world.chain.block_hash(row.block_number)


def test_existing_presets_have_no_chain():
    assert generate("tiny").chain_logs is None


# ---- over HTTP ------------------------------------------------------------------------


def _read_chain(rpc_url: str, head: int) -> list[dict]:
    with ChainClient(rpc_url) as client:
        assert client.block_number() == head
        ranges = iter_logs(client, ADDRESSES, [TOPIC0S], V2.V2_DEPLOY_BLOCK, head, max_range=5000)
        return [log for r in ranges for log in r.logs]


def _meta_block(sim) -> int:
    body = {"query": "{ _meta { block { number } } }"}
    response = requests.post(sim.url("orderbook"), json=body, timeout=30)
    return response.json()["data"]["_meta"]["block"]["number"]


@pytest.fixture(scope="module")
def served():
    with start_sim("crossing") as sim:
        yield sim


def test_rpc_serves_the_worlds_chain_and_subgraphs_stop_at_the_cutover(served, world):
    store = world.chain_logs
    served.rpc_control(max_block_range=20_000, max_results=100)  # a strict provider
    try:
        got = _read_chain(served.rpc_url, store.head_block)
    finally:
        served.rpc_control(reset=True)
    assert got == list(store.iter_logs(0, store.head_block))
    assert _meta_block(served) == world.head_block
    assert served.state()["head_block"] == world.head_block


def test_dump_and_serve_dataset_dir_round_trip_the_chain(tmp_path, world):
    out = tmp_path / "world"
    subprocess.run(
        [sys.executable, "-m", "subgraph_sim", "dump", "--dataset", "crossing", "--out", out],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    store = world.chain_logs
    dumped = [orjson.loads(line) for line in (out / "chain" / "logs.jsonl").read_bytes().split()]
    assert dumped == list(store.iter_logs(0, store.head_block))
    blocks = [orjson.loads(line) for line in (out / "chain" / "blocks.jsonl").read_bytes().split()]
    assert int(blocks[-1]["number"], 16) == store.head_block
    with start_sim(dataset_dir=out) as sim:
        assert _read_chain(sim.rpc_url, store.head_block) == dumped
        assert _meta_block(sim) == world.head_block
        for block in blocks[:3] + blocks[-1:]:
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber"}
            body["params"] = [block["number"], False]
            header = requests.post(sim.rpc_url, json=body, timeout=30).json()["result"]
            assert {k: header[k] for k in block} == block


def test_live_chain_keeps_filling_while_subgraphs_stay_frozen():
    with start_sim("crossing", live=True, future_seconds=600) as sim:
        with ChainClient(sim.rpc_url) as client:
            first = client.block_number()
            meta = _meta_block(sim)
            time.sleep(8)
            head = client.block_number()
            assert head >= first + 3
            fills = client.get_logs(list(EXCHANGES), [[C.topic0(C.OrderFilled)]], first + 1, head)
        assert fills, "no fills in the blocks the live head added"
        assert _meta_block(sim) == meta
