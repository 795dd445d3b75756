"""The local Polygon JSON-RPC face over real HTTP: filters as nodes apply them, provider
limits and faults as providers answer them, reorgs."""

from __future__ import annotations

import json

import pytest
import requests

from subgraph_sim.chain import polygon_chain
from tests.chain_support import (
    EXCHANGE_V2,
    FIRST_BLOCK,
    ORDER_FILLED_V2,
    ORDERS_MATCHED_V2,
    RECEIPT_BLOCK,
    RECEIPT_BLOCK_HASH,
    RECEIPT_BLOCK_TIME,
    TRANSFER,
    expected_store,
    receipt_path,
    start_chain_sim,
)

pytestmark = [pytest.mark.chain, pytest.mark.sim]


@pytest.fixture(scope="module")
def sim():
    with start_chain_sim() as process:
        yield process


@pytest.fixture(autouse=True)
def _reset(sim):
    yield
    sim.rpc_control(reset=True)


def rpc(sim, method, *params, request_id=1):
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
    response = requests.post(sim.rpc_url, json=body, timeout=30)
    return response


def result(sim, method, *params):
    response = rpc(sim, method, *params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "error" not in body, body
    return body["result"]


def error(sim, method, *params):
    response = rpc(sim, method, *params)
    assert response.status_code == 200, response.text
    return response.json()["error"]


def receipt_logs(sim, **query):
    block = hex(RECEIPT_BLOCK)
    return result(sim, "eth_getLogs", {"fromBlock": block, "toBlock": block, **query})


def indexes(logs):
    return [int(log["logIndex"], 16) for log in logs]


def test_receipt_logs_are_served_as_recorded(sim):
    with open(receipt_path()) as f:
        recorded = json.load(f)["result"]["logs"]
    assert receipt_logs(sim) == recorded


def test_chain_id_and_head(sim):
    assert result(sim, "eth_chainId") == "0x89"
    head = int(result(sim, "eth_blockNumber"), 16)
    assert head == expected_store().head_block
    sim.rpc_control(head_block=head + 5)
    assert int(result(sim, "eth_blockNumber"), 16) == head + 5


def test_address_filter_one_or_many(sim):
    assert indexes(receipt_logs(sim, address=EXCHANGE_V2)) == [13, 15, 16]
    assert indexes(receipt_logs(sim, address=EXCHANGE_V2.upper().replace("0X", "0x"))) == [
        13,
        15,
        16,
    ]
    usdc = "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"
    assert indexes(receipt_logs(sim, address=[EXCHANGE_V2, usdc])) == [3, 4, 7, 8, 13, 15, 16]


def test_topic_positions_null_value_and_list(sim):
    assert indexes(receipt_logs(sim, topics=[ORDER_FILLED_V2])) == [13, 15]
    assert indexes(receipt_logs(sim, topics=[[ORDER_FILLED_V2, ORDERS_MATCHED_V2]])) == [13, 15, 16]
    # Maker of log 13 in position 2; null and an empty list both mean "anything".
    maker = "0x000000000000000000000000f5183756a0be58aa0b0960f1e2d2451894b631d5"
    assert indexes(receipt_logs(sim, topics=[None, None, maker])) == [13]
    assert indexes(receipt_logs(sim, topics=[[], None, maker])) == [13]
    # A filter with four positions never matches a log with three topics, even with nulls.
    three = [i for i, n in enumerate(_topic_counts()) if n == 3]
    four = receipt_logs(sim, topics=[None, None, None, None])
    assert set(indexes(four)).isdisjoint(three)
    assert indexes(receipt_logs(sim, topics=[TRANSFER, None, None])) == [0, 1, 2, 3, 5, 7]


def _topic_counts():
    with open(receipt_path()) as f:
        return [len(log["topics"]) for log in json.load(f)["result"]["logs"]]


def test_block_tags_and_head_cap(sim):
    head = int(result(sim, "eth_blockNumber"), 16)
    newest = expected_store().logs_of(head)
    assert newest, "the default head is the newest block holding a log"
    assert result(sim, "eth_getLogs", {"fromBlock": hex(head), "toBlock": "latest"}) == newest
    sim.rpc_control(head_block=head - 1)
    # toBlock beyond the head reads up to the head; blocks beyond it do not exist yet.
    assert result(sim, "eth_getLogs", {"fromBlock": hex(head), "toBlock": hex(head + 10)}) == []
    assert result(sim, "eth_getBlockByNumber", hex(head), False) is None
    latest = result(sim, "eth_getBlockByNumber", "latest", False)
    assert int(latest["number"], 16) == head - 1


def test_blocks_carry_chain_hashes_and_recorded_ones(sim):
    chain = polygon_chain()
    block = result(sim, "eth_getBlockByNumber", hex(RECEIPT_BLOCK), False)
    assert block["hash"] == RECEIPT_BLOCK_HASH
    assert int(block["timestamp"], 16) == RECEIPT_BLOCK_TIME
    assert block["parentHash"] == chain.block_hash(RECEIPT_BLOCK - 1)
    after = result(sim, "eth_getBlockByNumber", hex(RECEIPT_BLOCK + 1), False)
    assert after["parentHash"] == RECEIPT_BLOCK_HASH
    assert int(after["timestamp"], 16) == RECEIPT_BLOCK_TIME + 2
    assert (
        "0xc1375cac7b7fd147d57b2cfd639b0a295aa1fa56af3ec00b5de31fba3f00e609"
        in (block["transactions"])
    )


def test_batch_answers_each_call(sim):
    batch = [
        {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "b", "method": "eth_getBlockByNumber", "params": ["0x1", False]},
        {"jsonrpc": "2.0", "id": 9, "method": "eth_nothing", "params": []},
    ]
    answers = {a["id"]: a for a in requests.post(sim.rpc_url, json=batch, timeout=30).json()}
    assert answers[7]["result"] == "0x89"
    assert answers["b"]["result"]["hash"] == polygon_chain().block_hash(1)
    assert answers[9]["error"]["code"] == -32601


def test_invalid_params_are_refused(sim):
    bad_address = error(sim, "eth_getLogs", {"address": "0x123"})
    assert bad_address["code"] == -32602
    assert "common.Address" in bad_address["message"]
    assert error(sim, "eth_getLogs", {"topics": [None] * 5})["code"] == -32602
    assert error(sim, "eth_getLogs", {"fromBlock": "0x10", "toBlock": "0x1"})["message"] == (
        "invalid block range params"
    )
    response = requests.post(sim.rpc_url, data=b"{not json", timeout=30)
    assert response.json()["error"]["code"] == -32700


def test_block_range_limit_styles(sim):
    query = {"fromBlock": hex(FIRST_BLOCK), "toBlock": hex(FIRST_BLOCK + 100)}
    sim.rpc_control(max_block_range=100)
    assert error(sim, "eth_getLogs", query)["message"] == "block range is too wide"
    sim.rpc_control(block_range_style="exceed")
    assert error(sim, "eth_getLogs", query)["message"] == "exceed maximum block range: 100"
    sim.rpc_control(block_range_style="http413")
    assert rpc(sim, "eth_getLogs", query).status_code == 413
    fits = {"fromBlock": hex(FIRST_BLOCK), "toBlock": hex(FIRST_BLOCK + 99)}
    assert isinstance(result(sim, "eth_getLogs", fits), list)
    assert sim.rpc_control()["counters"]["limits.block_range"] == 3


def test_result_cap_suggests_a_range_that_fits(sim):
    query = {"fromBlock": hex(FIRST_BLOCK), "toBlock": hex(FIRST_BLOCK + 2000)}
    every = result(sim, "eth_getLogs", query)
    assert len(every) > 100
    sim.rpc_control(max_results=100)
    refused = error(sim, "eth_getLogs", query)
    assert refused["code"] == -32005
    assert refused["message"].startswith("query returned more than 100 results. Try with")
    lo, hi = (int(x, 16) for x in refused["message"].split("[")[1].rstrip("].").split(", "))
    suggested = result(sim, "eth_getLogs", {"fromBlock": hex(lo), "toBlock": hex(hi)})
    assert lo == FIRST_BLOCK and 0 < len(suggested) <= 100
    assert suggested == every[: len(suggested)]
    # ... and one block more would not fit.
    wider = [log for log in every if int(log["blockNumber"], 16) <= hi + 1]
    assert len(wider) > 100
    sim.rpc_control(result_style="alchemy")
    alchemy = error(sim, "eth_getLogs", query)
    assert alchemy["code"] == -32602
    assert alchemy["message"].startswith("Log response size exceeded.")
    assert f"[{hex(lo)}, {hex(hi)}]" in alchemy["message"]


def test_faults_by_kind(sim):
    sim.rpc_control(fail_next=["429", "503", "internal", "header_not_found"], retry_after_seconds=3)
    limited = rpc(sim, "eth_blockNumber")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert rpc(sim, "eth_blockNumber").status_code == 503
    assert error(sim, "eth_blockNumber") == {"code": -32603, "message": "internal error"}
    assert error(sim, "eth_blockNumber") == {"code": -32000, "message": "header not found"}
    assert rpc(sim, "eth_blockNumber").status_code == 200
    sim.rpc_control(fail_next=["timeout"], timeout_ms=300)
    with pytest.raises(requests.Timeout):
        requests.post(sim.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                      timeout=0.1)  # fmt: skip
    counters = sim.rpc_control()["counters"]
    assert counters["faults"] == 5


def test_block_timestamps_switch_off(sim):
    assert all("blockTimestamp" in log for log in receipt_logs(sim))
    sim.rpc_control(block_timestamps=False)
    logs = receipt_logs(sim)
    assert len(logs) == 18 and all("blockTimestamp" not in log for log in logs)


def test_unknown_control_keys_are_refused(sim):
    response = requests.post(f"{sim.base_url}/_sim/rpc", json={"max_rsults": 1}, timeout=10)
    assert response.status_code == 400 and "max_rsults" in response.text


def test_reorg_replaces_the_newest_blocks():
    with start_chain_sim() as sim:
        head = int(result(sim, "eth_blockNumber"), 16)
        depth = 400
        lo = head - depth + 1
        query = {"fromBlock": hex(lo - 100), "toBlock": hex(head)}
        before = result(sim, "eth_getLogs", query)
        old_hashes = {n: sim_block(sim, n)["hash"] for n in (lo - 1, lo, head)}
        done = sim.rpc_control(reorg={"depth": depth, "seed": 3})["reorg"]
        assert (done["from_block"], done["to_block"]) == (lo, head)
        after = result(sim, "eth_getLogs", query)

        assert sim_block(sim, lo - 1)["hash"] == old_hashes[lo - 1]
        for n in (lo, head):
            assert sim_block(sim, n)["hash"] == polygon_chain().block_hash(n, fork=1)
            assert sim_block(sim, n)["hash"] != old_hashes[n]
        assert sim_block(sim, lo)["parentHash"] == old_hashes[lo - 1]

        untouched = [log for log in before if int(log["blockNumber"], 16) < lo]
        assert [log for log in after if int(log["blockNumber"], 16) < lo] == untouched
        old = [log for log in before if int(log["blockNumber"], 16) >= lo]
        new = [log for log in after if int(log["blockNumber"], 16) >= lo]
        assert done["dropped"] > 0 and done["moved"] > 0 and done["changed"] > 0
        assert len(new) == len(old) - done["dropped"]
        orphaned = {log["blockHash"] for log in old}
        assert not orphaned & {log["blockHash"] for log in new}
        for log in new:
            assert log["blockHash"] == polygon_chain().block_hash(int(log["blockNumber"], 16), 1)
        keys = [(log["blockNumber"], log["logIndex"]) for log in new]
        assert len(keys) == len(set(keys))


def sim_block(sim, number):
    return result(sim, "eth_getBlockByNumber", hex(number), False)
