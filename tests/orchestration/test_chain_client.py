"""The Polygon JSON-RPC client and range reader against the local JSON-RPC face over real
HTTP: provider limits, faults (R9), permanent errors, batched block headers, reorgs."""

from __future__ import annotations

import itertools
import time

import pytest

from orchestration.lib.chain import ChainClient, ChainRpcError, ChainRpcRejected, suggested_span
from orchestration.lib.chain_ranges import iter_logs
from subgraph_sim.chain import polygon_chain
from tests.chain_support import (
    ADDRESSES,
    BLOCKS,
    FIRST_BLOCK,
    RECEIPT_BLOCK,
    RECEIPT_BLOCK_HASH,
    RECEIPT_BLOCK_TIME,
    TOPIC0S,
    expected_logs,
    start_chain_sim,
)

pytestmark = pytest.mark.chain

LAST_BLOCK = FIRST_BLOCK + BLOCKS - 1
TOPICS = [TOPIC0S]  # topics[0]: any of the topic0s


@pytest.fixture(scope="module")
def sim():
    with start_chain_sim() as process:
        yield process


@pytest.fixture(autouse=True)
def _reset(sim):
    yield
    sim.rpc_control(reset=True)


@pytest.fixture(scope="module")
def truth():
    return expected_logs(FIRST_BLOCK, LAST_BLOCK)


def client_for(sim, **options) -> ChainClient:
    return ChainClient(sim.rpc_url, **{"backoff_base": 0.02, "backoff_max": 0.5, **options})


def read_all(client, lo=FIRST_BLOCK, hi=LAST_BLOCK, **options):
    ranges = list(iter_logs(client, ADDRESSES, TOPICS, lo, hi, **options))
    # Ranges come back in order, each starting where the last ended: a cursor per range
    # never skips a block.
    assert ranges[0].from_block == lo and ranges[-1].to_block == hi
    for before, after in itertools.pairwise(ranges):
        assert after.from_block == before.to_block + 1
    for item in ranges:
        for log in item.logs:
            assert item.from_block <= int(log["blockNumber"], 16) <= item.to_block
    return ranges, [log for item in ranges for log in item.logs]


def test_reads_every_log_once_under_limits_and_faults(sim, truth):
    """R9: block-range and result-count limits plus 10% mixed errors; every log exactly once."""
    sim.rpc_control(
        max_block_range=400,
        max_results=300,
        result_style="alchemy",
        fault_rate=0.10,
        fault_seed=11,
        retry_after_seconds=1,
        timeout_ms=1500,
    )
    client = client_for(sim, timeout=0.5)
    ranges, logs = read_all(client, max_range=2000, workers=4)
    assert logs == truth
    state = sim.rpc_control()["counters"]
    assert state["limits.block_range"] > 0 and state["limits.results"] > 0
    kinds = [k for k in state if k.startswith("faults.")]
    assert state["faults"] >= 5 and len(kinds) >= 3, state
    assert client.retries >= state["faults"] - 1  # a timed-out request may still be running
    assert all(item.to_block - item.from_block + 1 <= 400 for item in ranges)


def test_block_range_limit_is_learned(sim, truth):
    sim.rpc_control(max_block_range=500, block_range_style="exceed")
    ranges, logs = read_all(client_for(sim), max_range=2000, workers=4)
    assert logs == truth
    assert max(item.to_block - item.from_block + 1 for item in ranges) == 500
    # Only the first ranges in flight are refused: the limit named in the message is kept.
    assert sim.rpc_control()["counters"]["limits.block_range"] <= 4


def test_block_range_limit_without_a_number_halves(sim, truth):
    sim.rpc_control(max_block_range=600, block_range_style="too_wide")
    ranges, logs = read_all(client_for(sim), max_range=2000, workers=2)
    assert logs == truth
    widths = {item.to_block - item.from_block + 1 for item in ranges}
    assert max(widths) == 500  # 2000 -> 1000 -> 500: the first half that fits
    assert sim.rpc_control()["counters"]["limits.block_range"] <= 6


def test_http_413_splits(sim, truth):
    sim.rpc_control(max_block_range=700, block_range_style="http413")
    ranges, logs = read_all(client_for(sim), max_range=2000, workers=2)
    assert logs == truth
    assert max(item.to_block - item.from_block + 1 for item in ranges) <= 700


def test_result_cap_honours_the_suggested_range_and_grows_back(sim, truth):
    cap = 500
    sim.rpc_control(max_results=cap, result_style="infura")
    ranges, logs = read_all(client_for(sim), max_range=2000, workers=1)
    assert logs == truth
    # The first range is the one the provider suggested: up to the block before the one
    # holding the (cap+1)-th log.
    assert ranges[0].to_block == int(truth[cap]["blockNumber"], 16) - 1
    widths = [item.to_block - item.from_block + 1 for item in ranges]
    assert widths[0] < 200
    assert 2000 in widths, widths  # grown back to max_range where blocks are sparse
    # Growth is gradual (doubling while answers are under half the cap): few refusals.
    assert sim.rpc_control()["counters"]["limits.results"] <= 4


def test_result_cap_without_a_suggestion_halves(sim, truth):
    sim.rpc_control(max_results=250, result_style="plain")
    ranges, logs = read_all(client_for(sim), max_range=2000, workers=3)
    assert logs == truth
    assert all(len(item.logs) <= 250 for item in ranges)


def test_a_block_over_the_cap_fails_clearly(sim):
    sim.rpc_control(max_results=1)
    client = client_for(sim)
    block = hex(RECEIPT_BLOCK)
    with pytest.raises(ChainRpcError, match=f"block {RECEIPT_BLOCK} alone") as info:
        list(iter_logs(client, ADDRESSES, TOPICS, RECEIPT_BLOCK, RECEIPT_BLOCK))
    assert sim.rpc_url in str(info.value) and block not in str(info.value).split("alone")[0]


def test_retry_after_is_honoured(sim):
    sim.rpc_control(fail_next=["429"], retry_after_seconds=1)
    client = client_for(sim)
    started = time.monotonic()
    assert client.block_number() == sim.rpc_control()["head_block"]
    assert time.monotonic() - started >= 1.0
    assert client.retries == 1


def test_transient_json_rpc_errors_are_retried(sim):
    sim.rpc_control(fail_next=["internal", "header_not_found", "503"])
    client = client_for(sim)
    assert client.chain_id() == 137
    assert client.retries == 3


def test_retries_run_out_with_a_clear_error(sim):
    sim.rpc_control(fault_rate=1.0, fault_modes=["internal"])
    client = client_for(sim, max_attempts=3)
    with pytest.raises(ChainRpcError, match="after 3 attempts; last error: JSON-RPC error -32603"):
        client.block_number()
    try:
        client.block_number()
    except ChainRpcError as exc:  # an outage, not a rejection: a retried step may succeed
        assert not isinstance(exc, ChainRpcRejected)


def fails_fast(call, *, endpoint: str, secret: str | None = None) -> str:
    started = time.monotonic()
    with pytest.raises(ChainRpcRejected) as info:  # and so no retried step either
        call()
    assert time.monotonic() - started < 1.0
    message = str(info.value)
    assert endpoint in message, message
    if secret:
        assert secret not in message
    return message


def test_permanent_errors_fail_fast_naming_the_endpoint(sim):
    key = "k3y0123456789abcdefSECRET"
    with_key = ChainClient(sim.rpc_url, api_key=key, headers={"X-Api-Key": key})
    message = fails_fast(
        lambda: with_key.get_logs(["0x123"], TOPICS, FIRST_BLOCK, FIRST_BLOCK),
        endpoint=sim.rpc_url,
        secret=key,
    )
    assert "-32602" in message and "common.Address" in message
    assert "-32601" in fails_fast(lambda: with_key.call("eth_foo", []), endpoint=sim.rpc_url)
    assert sim.rpc_control()["counters"]["requests"] == 2  # neither was retried

    wrong_path = f"{sim.base_url}/v2/{key}"
    message = fails_fast(
        lambda: ChainClient(wrong_path).block_number(), endpoint=sim.base_url, secret=key
    )
    assert "HTTP 404" in message and "/v2/***" in message

    unknown_host = f"https://polygon-mainnet.invalid/v2/{key}"
    message = fails_fast(
        lambda: ChainClient(unknown_host).block_number(),
        endpoint="https://polygon-mainnet.invalid/v2/***",
        secret=key,
    )
    assert "does not resolve" in message
    fails_fast(lambda: ChainClient(f"wss://polygon.invalid/{key}"), endpoint="wss://", secret=key)


def test_batched_block_headers(sim):
    chain = polygon_chain()
    numbers = [*range(RECEIPT_BLOCK - 120, RECEIPT_BLOCK + 130), FIRST_BLOCK]
    # A call-level fault hits one call of a batch: only that call is asked again.
    sim.rpc_control(fail_next=["internal", "header_not_found"])
    client = client_for(sim)
    blocks = client.get_blocks(numbers, batch_size=100, workers=2)
    assert sorted(blocks) == sorted(numbers)
    for number in numbers:
        block = blocks[number]
        assert block.number == number
        if number == RECEIPT_BLOCK:
            assert (block.hash, block.timestamp) == (RECEIPT_BLOCK_HASH, RECEIPT_BLOCK_TIME)
        else:
            assert block.hash == chain.block_hash(number)
            assert block.timestamp == chain.block_timestamp(number)
    assert blocks[RECEIPT_BLOCK + 1].parent_hash == RECEIPT_BLOCK_HASH
    counters = sim.rpc_control()["counters"]
    assert counters["calls.eth_getBlockByNumber"] == len(numbers) + 2
    assert counters["requests"] == 3 + 2  # three batches of up to 100, two re-asked calls


def test_blocks_past_the_head_are_retried_then_refused(sim):
    head = sim.rpc_control()["head_block"]
    client = client_for(sim, max_attempts=2)
    with pytest.raises(ChainRpcError, match=f"block {head + 1}: not found"):
        client.get_blocks([head, head + 1])


def test_reorg_gives_new_hashes_on_reread():
    with start_chain_sim() as sim:
        client = ChainClient(sim.rpc_url)
        head = client.block_number()
        depth = 300
        newest = range(head - depth - 5, head + 1)
        before = client.get_blocks(newest)
        logs_before = [log for r in iter_logs(client, ADDRESSES, TOPICS, head - 1000, head)
                       for log in r.logs]  # fmt: skip
        sim.rpc_control(reorg={"depth": depth, "seed": 1})
        after = client.get_blocks(newest)
        for number in newest:
            if number > head - depth:
                assert after[number].hash != before[number].hash
                assert after[number].hash == polygon_chain().block_hash(number, fork=1)
            else:
                assert after[number].hash == before[number].hash
            if number > newest[0]:
                assert after[number].parent_hash == after[number - 1].hash
        logs_after = [log for r in iter_logs(client, ADDRESSES, TOPICS, head - 1000, head)
                      for log in r.logs]  # fmt: skip
        current = {after[n].hash for n in newest}
        orphaned = {before[n].hash for n in newest} - current
        assert orphaned and not orphaned & {log["blockHash"] for log in logs_after}
        assert logs_after != logs_before

        # A node that raced the reorg also reports the orphaned logs, flagged removed.
        sim.rpc_control(serve_removed=True)
        raw = client.get_logs(ADDRESSES, TOPICS, head - depth + 1, head)
        assert any(log["removed"] for log in raw)
        logs_raced = [log for r in iter_logs(client, ADDRESSES, TOPICS, head - 1000, head)
                      for log in r.logs]  # fmt: skip
        assert logs_raced == logs_after


@pytest.mark.parametrize(
    ("message", "span"),
    [
        ("query returned more than 10000 results. Try with this block range "
         "[0x5d0c4f0, 0x5d0c6a3].", 0x5D0C6A3 - 0x5D0C4F0 + 1),
        ("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block "
         "range and no limit on the response size, or you can request any block range with a "
         "cap of 10K logs in the response. Based on your parameters, this block range should "
         "work: [0x1, 0x64]", 100),
        ("exceed maximum block range: 50000", 50000),
        ("eth_getLogs is limited to a 10,000 range", 10000),
        ("block range is too wide", None),
        ("query returned more than 10000 results", None),
    ],
)  # fmt: skip
def test_suggested_spans_of_real_provider_messages(message, span):
    assert suggested_span(message) == span
