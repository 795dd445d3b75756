"""The local subgraph over real HTTP: graph-node's query rules, errors and faults."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from subgraph_sim.executor import QueryContext, SubgraphService
from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim

pytestmark = pytest.mark.sim

OPTIONS = {"burst": 2500, "late_fraction": 0.05, "late_delay_blocks": 50}
FILL_FIELDS = (
    "id transactionHash timestamp orderHash maker taker makerAssetId takerAssetId "
    "makerAmountFilled takerAmountFilled fee"
)
PAGE_QUERY = f"""
query Page($where: OrderFilledEvent_filter!, $block: Int!) {{
  orderFilledEvents(first: 1000, orderBy: timestamp, orderDirection: asc,
                    where: $where, block: {{number: $block}}) {{ {FILL_FIELDS} }}
}}"""


@pytest.fixture(scope="module")
def dataset():
    return generate("tiny", **OPTIONS)


@pytest.fixture(scope="module")
def sim():
    with start_sim("tiny", **OPTIONS) as process:
        yield process


@pytest.fixture(autouse=True)
def _reset(request):
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").control(reset=True)


def gql(sim, query, variables=None, subgraph="orderbook"):
    response = requests.post(
        sim.url(subgraph), json={"query": query, "variables": variables or {}}, timeout=30
    )
    return response


def data(sim, query, variables=None, subgraph="orderbook"):
    response = gql(sim, query, variables, subgraph)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def error(sim, query, variables=None, subgraph="orderbook"):
    response = gql(sim, query, variables, subgraph)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body or body["data"] is None
    return body["errors"][0]["message"]


def head(sim):
    return data(sim, "{ _meta { block { number } } }")["_meta"]["block"]["number"]


def keyset_pages(sim, block):
    """The sticky (timestamp, id) cursor of DESIGN section 1."""
    seen, timestamp, last_id = [], -1, None
    while True:
        if last_id is None:
            where = {"timestamp_gt": str(timestamp)}
        else:
            where = {"timestamp": str(timestamp), "id_gt": last_id}
        rows = data(sim, PAGE_QUERY, {"where": where, "block": block})["orderFilledEvents"]
        seen += rows
        if len(rows) == 1000:
            timestamp, last_id = int(rows[-1]["timestamp"]), rows[-1]["id"]
            continue
        if last_id is None:
            return seen
        last_id = None  # finished the timestamp; move past it


def test_keyset_pagination_returns_every_fill_exactly_once(sim, dataset):
    block = head(sim)
    expected = dataset.entities("orderbook", "OrderFilledEvent", block)
    rows = keyset_pages(sim, block)
    assert len(rows) == len(expected) == len({r["id"] for r in rows})
    assert sorted(rows, key=lambda r: r["id"]) == expected
    burst = max(sum(r["timestamp"] == t for r in rows) for t in {r["timestamp"] for r in rows})
    assert burst > 1000


def test_paging_on_timestamp_gt_alone_loses_fills(sim, dataset):
    block = head(sim)
    seen, timestamp = set(), -1
    while True:
        where = {"timestamp_gt": str(timestamp)}
        rows = data(sim, PAGE_QUERY, {"where": where, "block": block})["orderFilledEvents"]
        if not rows:
            break
        seen |= {r["id"] for r in rows}
        timestamp = int(rows[-1]["timestamp"])
    assert len(seen) < len(dataset.entities("orderbook", "OrderFilledEvent", block))


def test_first_and_skip_limits(sim):
    assert (
        error(sim, "{ orderFilledEvents(first: 1001) { id } }")
        == "The `first` argument must be between 0 and 1000, but is 1001"
    )
    assert (
        error(sim, "{ orderFilledEvents(skip: 5001) { id } }")
        == "The `skip` argument must be between 0 and 5000, but is 5001"
    )
    assert len(data(sim, "{ orderFilledEvents { id } }")["orderFilledEvents"]) == 100
    assert data(sim, "{ orderFilledEvents(first: 0) { id } }")["orderFilledEvents"] == []


def test_wrong_field_or_argument_fails_validation(sim):
    assert "Cannot query field 'price'" in error(sim, "{ orderFilledEvents { id price } }")
    assert "Unknown argument 'limit'" in error(sim, "{ orderFilledEvents(limit: 5) { id } }")
    message = error(sim, "{ orderFilledEvents(where: {price_gt: 1}) { id } }")
    assert "price_gt" in message
    assert "Syntax Error" in error(sim, "{ orderFilledEvents { id }")
    assert gql(sim, "{ _meta { deployment } }", subgraph="pnl").status_code == 200


def test_unknown_subgraph_is_404(sim):
    url = f"{sim.base_url}/subgraphs/positions-subgraph/0.0.7/gn"
    assert requests.post(url, json={"query": "{ _meta { deployment } }"}).status_code == 404


def test_default_order_is_by_id_and_order_by_breaks_ties_by_id(sim, dataset):
    expected = dataset.entities("orderbook", "OrderFilledEvent", head(sim))
    rows = data(sim, "{ orderFilledEvents(first: 1000) { id } }")["orderFilledEvents"]
    assert [r["id"] for r in rows] == [e["id"] for e in expected[:1000]]
    query = """{ orderFilledEvents(first: 1000, orderBy: makerAmountFilled,
                 orderDirection: desc) { id makerAmountFilled } }"""
    rows = data(sim, query)["orderFilledEvents"]
    keys = [(-int(r["makerAmountFilled"]), r["id"]) for r in rows]
    assert keys == sorted(keys)
    top = sorted(expected, key=lambda e: (-int(e["makerAmountFilled"]), e["id"]))[:1000]
    assert [r["id"] for r in rows] == [e["id"] for e in top]


def test_where_operators(sim, dataset):
    fills = dataset.entities("orderbook", "OrderFilledEvent", head(sim))
    maker = fills[0]["maker"]
    query = """query($w: OrderFilledEvent_filter) {
        orderFilledEvents(first: 1000, where: $w) { id maker makerAmountFilled } }"""

    def ids(where):
        return [r["id"] for r in data(sim, query, {"w": where})["orderFilledEvents"]]

    mine = [e["id"] for e in fills if e["maker"] == maker]
    assert ids({"maker": maker.upper().replace("0X", "0x")}) == mine
    assert ids({"maker_in": [maker]}) == mine
    big = [e["id"] for e in fills if int(e["makerAmountFilled"]) > 100_000_000][:1000]
    assert ids({"makerAmountFilled_gt": "100000000"}) == big
    assert (
        ids({"makerAmountFilled_gt": 100000000}) == big
    )  # ints accepted too, compared numerically
    assert ids({"id_in": [fills[5]["id"], fills[2]["id"], "nope"]}) == [
        fills[2]["id"],
        fills[5]["id"],
    ]
    not_mine = [e["id"] for e in fills if e["maker"] != maker][:1000]
    assert ids({"maker_not": maker}) == not_mine
    both = ids({"or": [{"id": fills[1]["id"]}, {"id": fills[3]["id"]}]})
    assert both == [fills[1]["id"], fills[3]["id"]]


def test_aliases_fragments_variables_and_single_entities(sim, dataset):
    fill = dataset.entities("orderbook", "OrderFilledEvent")[7]
    query = """
      fragment F on OrderFilledEvent { id fee __typename }
      query One($id: ID!) {
        one: orderFilledEvent(id: $id) { ...F maker }
        none: orderFilledEvent(id: "0xmissing") { id }
        two: orderFilledEvents(first: 2) { ... on OrderFilledEvent { key: id } }
        __typename
      }"""
    out = data(sim, query, {"id": fill["id"]})
    assert out["one"] == {
        "id": fill["id"],
        "fee": fill["fee"],
        "__typename": "OrderFilledEvent",
        "maker": fill["maker"],
    }
    assert out["none"] is None
    assert list(out["two"][0]) == ["key"]
    assert out["__typename"] == "Query"


def test_user_positions_by_user(sim, dataset):
    positions = dataset.entities("pnl", "UserPosition", head(sim))
    users = sorted({p["user"] for p in positions})[:3]
    query = """query($users: [Bytes!]) {
        userPositions(first: 1000, where: {user_in: $users}) { id user amount tokenId } }"""
    rows = data(sim, query, {"users": users}, "pnl")["userPositions"]
    expected = [p for p in positions if p["user"] in users]
    assert [r["id"] for r in rows] == [p["id"] for p in expected]
    assert all(isinstance(r["amount"], str) for r in rows)


def test_block_pinning_hides_later_entities_and_shows_old_condition_versions(sim, dataset):
    resolved = [c for c in dataset.entities("pnl", "Condition") if c["payoutDenominator"] == "1"]
    table = dataset.table("pnl", "Condition")
    k = table.key_of_id(resolved[0]["id"])
    first_version = table.ent_start[k]
    opened, resolved_at = table.vis[first_version], table.vis[first_version + 1]
    query = """query($id: ID!, $b: Int!) {
        condition(id: $id, block: {number: $b}) {
          payoutNumerators payoutDenominator positionIds
        }
    }"""
    before = data(sim, query, {"id": resolved[0]["id"], "b": resolved_at - 1}, "pnl")
    assert before["condition"]["payoutNumerators"] == []
    assert before["condition"]["payoutDenominator"] == "0"
    after = data(sim, query, {"id": resolved[0]["id"], "b": resolved_at}, "pnl")
    assert after["condition"]["payoutDenominator"] == "1"
    assert data(sim, query, {"id": resolved[0]["id"], "b": opened - 1}, "pnl")["condition"] is None

    fills = dataset.entities("orderbook", "OrderFilledEvent")
    middle = int(fills[len(fills) // 2]["timestamp"])
    block = dataset.chain.block_at(middle)
    pinned = keyset_pages(sim, block)
    assert pinned == sorted(
        dataset.entities("orderbook", "OrderFilledEvent", block),
        key=lambda e: (int(e["timestamp"]), e["id"]),
    )
    assert 0 < len(pinned) < len(fills)


def test_block_above_head_is_an_error(sim):
    top = head(sim)
    message = error(sim, f"{{ orderFilledEvents(block: {{number: {top + 1}}}) {{ id }} }}")
    deployment = data(sim, "{ _meta { deployment } }")["_meta"]["deployment"]
    assert message == (
        f"Failed to decode `block.number` value: `subgraph {deployment} has only indexed up to "
        f"block number {top} and data for block number {top + 1} is therefore not yet available`"
    )


def test_meta_reports_block_and_deployment(sim, dataset):
    meta = data(sim, "{ _meta { block { number timestamp hash } hasIndexingErrors deployment } }")
    meta = meta["_meta"]
    assert meta["block"]["number"] == dataset.head_block
    assert meta["block"]["timestamp"] == dataset.block_timestamp(dataset.head_block)
    assert meta["block"]["hash"].startswith("0x") and len(meta["block"]["hash"]) == 66
    assert meta["hasIndexingErrors"] is False
    assert meta["deployment"].startswith("Qm")
    by_hash = f'{{ _meta(block: {{hash: "{meta["block"]["hash"]}"}}) {{ block {{ number }} }} }}'
    assert data(sim, by_hash)["_meta"]["block"]["number"] == dataset.head_block


def test_late_events_appear_when_the_head_moves(sim, dataset):
    table = dataset.table("orderbook", "OrderFilledEvent")
    chain = dataset.chain
    late = [
        r
        for r in range(table.n_rows)
        if table.vis[r] > chain.block_at(table.columns["timestamp"][r])
    ]
    assert late
    arrives = table.vis[late[len(late) // 2]]
    sim.control(head_block=arrives - 1)
    before = {r["id"] for r in keyset_pages(sim, arrives - 1)}
    sim.control(advance_blocks=1)
    assert head(sim) == arrives
    after = {r["id"] for r in keyset_pages(sim, arrives)}
    new = {table.columns["id"][r] for r in range(table.n_rows) if table.vis[r] == arrives}
    assert after - before == new
    # Late events keep their old timestamps: a cursor already past them would miss them.
    timestamps = [int(table.columns["timestamp"][r]) for r in late if table.vis[r] == arrives]
    assert all(chain.block_at(ts) < arrives for ts in timestamps)


@pytest.mark.parametrize(
    ("mode", "status"),
    [("429", 429), ("500", 500), ("503", 503), ("timeout", 200), ("indexing_error", 200)],
)
def test_each_fault_mode(sim, mode, status):
    sim.control(fault_rate=1.0, fault_modes=[mode])
    response = gql(sim, "{ _meta { deployment } }")
    assert response.status_code == status
    if mode == "429":
        assert response.json() == {
            "message": "Sorry, you've surpassed your query allowance. Please try again later."
        }
        assert response.headers["Retry-After"] == "1"
    elif mode == "timeout":
        assert response.json() == {
            "errors": [{"message": "The query was cancelled because it exceeded the time limit"}]
        }
    elif mode == "indexing_error":
        assert response.json() == {"errors": [{"message": "indexing_error"}]}
    assert sim.state()["counters"][f"faults.{mode}"] == 1


def test_fault_rate_fails_about_that_fraction(sim):
    sim.control(fault_rate=0.3, fault_seed=11)
    statuses = [gql(sim, "{ _meta { deployment } }") for _ in range(200)]
    failed = sum(r.status_code != 200 or "errors" in r.json() for r in statuses)
    assert 35 <= failed <= 85
    state = sim.state()
    assert state["counters"]["faults"] == failed
    assert len({k for k in state["counters"] if k.startswith("faults.")}) >= 4


def test_latency_is_per_page_and_pages_overlap(sim):
    sim.control(latency_ms=300)
    started = time.perf_counter()
    head(sim)
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: head(sim), range(8)))
    assert time.perf_counter() - started < 1.2


def test_meta_lag_serves_a_stale_head(sim, dataset):
    sim.control(meta_lag_blocks=500)
    assert head(sim) == dataset.head_block - 500
    message = error(
        sim, f"{{ orderFilledEvents(block: {{number: {dataset.head_block}}}) {{ id }} }}"
    )
    assert "has only indexed up to block number" in message


def test_indexing_errors_flag(sim):
    sim.control(has_indexing_errors=True)
    meta = data(sim, "{ _meta { hasIndexingErrors } }")
    assert meta["_meta"]["hasIndexingErrors"] is True
    assert error(sim, "{ orderFilledEvents(first: 1) { id } }") == "indexing_error"
    body = gql(sim, "{ orderFilledEvents(first: 1, subgraphError: allow) { id } }").json()
    assert len(body["data"]["orderFilledEvents"]) == 1
    assert body["errors"] == [{"message": "indexing_error"}]


def test_rate_limit_answers_429_past_the_budget(sim):
    sim.control(rate_limit_rps=5)
    statuses = [gql(sim, "{ _meta { deployment } }").status_code for _ in range(15)]
    assert statuses[:5] == [200] * 5
    assert statuses.count(429) >= 8
    assert sim.state()["counters"]["rate_limited"] >= 8


def test_control_rejects_unknown_keys(sim):
    response = requests.post(f"{sim.base_url}/_sim/control", json={"fault_rat": 1})
    assert response.status_code == 400


def test_measure_page_time(sim, dataset):
    service = SubgraphService("orderbook", dataset)
    ctx = QueryContext(dataset.head_block)
    variables = {"where": {"timestamp_gt": "0"}, "block": dataset.head_block}
    payload = {"query": PAGE_QUERY, "variables": variables}
    service.execute(payload, ctx)
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        status, body = service.execute(payload, ctx)
    in_process = (time.perf_counter() - started) / runs * 1000
    started = time.perf_counter()
    for _ in range(runs):
        data(sim, PAGE_QUERY, variables)
    over_http = (time.perf_counter() - started) / runs * 1000
    print(f"\n1000-fill page: {in_process:.2f} ms executing, {over_http:.2f} ms over HTTP")
    assert status == 200 and body.count(b'"orderHash"') == 1000


def test_dump_then_serve_the_folder(tmp_path, dataset):
    out = dataset.dump(tmp_path / "recorded")
    assert (out / "meta.json").exists()
    assert (out / "orderbook" / "OrderFilledEvent.jsonl").exists()
    with start_sim(dataset_dir=out) as recorded:
        block = dataset.head_block
        assert head(recorded) == block
        rows = keyset_pages(recorded, block)
        assert sorted(rows, key=lambda r: r["id"]) == dataset.entities(
            "orderbook", "OrderFilledEvent", block
        )
        conditions = data(
            recorded,
            "{ conditions(first: 1000) { id positionIds payoutNumerators payoutDenominator } }",
            subgraph="pnl",
        )
        assert conditions["conditions"] == dataset.entities("pnl", "Condition", block)


def test_live_head_follows_the_clock():
    with start_sim("tiny", live=True) as live:
        first = live.state()
        assert abs(first["head_timestamp"] - time.time()) < 30
        assert first["last_block"] > first["head_block"]  # future trades are waiting
        time.sleep(2.5)
        assert live.state()["head_block"] > first["head_block"]
