"""The chain source's freshness check and head sensor, against the local chain (R7)."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.defs.chain.checks import chain_verdict
from orchestration.defs.chain.sensors import build_chain_sensor
from orchestration.defs.resources import ChainResource
from orchestration.lib.chain import ChainClient
from subgraph_sim.process import start_sim

pytestmark = [pytest.mark.operate, pytest.mark.chain]
KEY = "k3y0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def chain_sim():
    """The crossing world's chain, its head and the head's time."""
    with start_sim("crossing") as sim:
        client = ChainClient(sim.rpc_url)
        head = client.block_number()
        yield sim, head, client.get_blocks([head])[head].timestamp


def test_a_fresh_chain_passes(chain_sim):
    sim, head, head_time = chain_sim
    verdict = chain_verdict(
        ChainResource(rpc_url=sim.rpc_url), 600, loaded=head - 10, now=head_time + 5
    )
    assert verdict.passed, verdict.description
    assert verdict.metadata["lag_seconds"].value == 5
    assert verdict.metadata["lag_blocks"].value == 10


def test_a_lagging_chain_fails_naming_the_rpc_and_its_lag(chain_sim):
    sim, head, head_time = chain_sim
    verdict = chain_verdict(
        ChainResource(rpc_url=sim.rpc_url), 600, loaded=head, now=head_time + 7200
    )
    assert not verdict.passed
    assert f"Polygon RPC {sim.rpc_url} lags 7200 s behind the wall clock" in verdict.description


def test_a_chain_that_went_back_fails(chain_sim):
    sim, head, head_time = chain_sim
    verdict = chain_verdict(
        ChainResource(rpc_url=sim.rpc_url), 600, loaded=head + 50, now=head_time
    )
    assert not verdict.passed
    assert f"went back to block {head}, 50 blocks behind block {head + 50}" in verdict.description


def test_an_unreachable_rpc_fails_without_showing_its_key():
    url = f"http://127.0.0.1:9/v2/{KEY}"
    verdict = chain_verdict(ChainResource(rpc_url=url, api_key=KEY), 600, loaded=None)
    assert not verdict.passed
    assert "did not answer" in verdict.description
    assert KEY not in verdict.description and KEY not in str(verdict.metadata)


def test_the_head_sensor_requests_a_fetch_when_the_confirmed_head_moves(chain_sim):
    sim, head, _ = chain_sim
    sensor = build_chain_sensor()
    chain = ChainResource(rpc_url=sim.rpc_url, confirmations=5)

    def tick(instance, cursor):
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"chain": chain}
        )
        return sensor.evaluate_tick(context), context.cursor

    with dg.instance_for_test() as instance:
        result, cursor = tick(instance, None)
        assert len(result.run_requests) == 1 and cursor == str(head - 5)
        result, again = tick(instance, cursor)
        assert not result.run_requests and "no new confirmed block" in result.skip_message
        sim.rpc_control(head_block=head + 3)
        try:
            result, after = tick(instance, again)
        finally:
            sim.rpc_control(head_block=head)
        assert len(result.run_requests) == 1 and after == str(head - 2)
