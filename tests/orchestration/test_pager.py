"""The keyset pager and the work-stealing slice reader return every event exactly once."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from orchestration.lib.entities import ORDER_FILLED_EVENTS
from orchestration.lib.pager import Plan, Slice, earliest_timestamp, read_slice_page
from orchestration.lib.slices import Page, SliceReader, Split, apply
from orchestration.lib.subgraph import SubgraphClient
from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim

pytestmark = pytest.mark.extract
BURST = {"burst": 2500}  # 2,500 fills in one timestamp: pages that end inside it


@pytest.fixture(scope="module")
def burst():
    dataset = generate("tiny", **BURST)
    with start_sim("tiny", latency_ms=5, **BURST) as sim:
        yield dataset, SubgraphClient("orderbook-subgraph", sim.url("orderbook"))


def fill_ids(dataset) -> Counter:
    return Counter(r["id"] for r in dataset.entities("orderbook", "OrderFilledEvent"))


def test_one_slice_pages_through_a_burst_exactly_once(burst):
    dataset, client = burst
    meta = client.meta()
    lo = earliest_timestamp(client, ORDER_FILLED_EVENTS, meta.block_number)
    piece, seen, tie_pages = Slice(lo, meta.block_timestamp + 1, lo), Counter(), 0
    while not piece.done:
        rows, piece = read_slice_page(client, ORDER_FILLED_EVENTS, meta.block_number, piece)
        tie_pages += piece.tie_id is not None
        seen.update(r["id"] for r in rows)
    assert tie_pages >= 2, "the burst should have been walked by id"
    assert seen == fill_ids(dataset)


@pytest.mark.parametrize("workers", [2, 4])
def test_work_stealing_covers_every_event_once(burst, workers):
    dataset, client = burst
    meta = client.meta()
    lo = earliest_timestamp(client, ORDER_FILLED_EVENTS, meta.block_number)
    plan = Plan.split(meta.block_number, lo, meta.block_timestamp + 1, workers)
    seen, splits = Counter(), 0
    for message in SliceReader(client, ORDER_FILLED_EVENTS, plan, workers, 50).messages():
        apply(plan, message)
        if isinstance(message, Page):
            seen.update(r["id"] for r in message.rows)
        splits += isinstance(message, Split)
    assert splits > 0, "small pages over few slices should make idle workers steal"
    assert seen == fill_ids(dataset)
    assert plan.done
    # The consumer's plan tiles the range with no gap and no overlap.
    bounds = sorted((s.start, s.end) for s in plan.slices)
    assert bounds[0][0] == lo and bounds[-1][1] == meta.block_timestamp + 1
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
