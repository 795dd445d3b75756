"""The chain the JSON-RPC tests read: the real V2 receipt plus random logs around it, served
by the local simulator and rebuilt in-process as the truth to compare with."""

from __future__ import annotations

from subgraph_sim.chain import POLYGON_REFERENCE_BLOCK
from subgraph_sim.logstore import ChainLogStore
from subgraph_sim.process import SimProcess, start_sim
from subgraph_sim.synthetic_logs import DEFAULT_ADDRESSES, DEFAULT_TOPIC0S, build_store
from tests.shared_data import shared_path

RECEIPT_BLOCK = POLYGON_REFERENCE_BLOCK
RECEIPT_BLOCK_HASH = "0x2da002112465281e859d3376fa7b722b2851316243e16a9a995b43ff63145765"
RECEIPT_BLOCK_TIME = 0x69E2ACA6
FIRST_BLOCK = POLYGON_REFERENCE_BLOCK - 10_000
BLOCKS = 20_000
# Random logs crowd the first blocks (skew 2: a few hundred in the first hundred blocks,
# a few per thousand blocks at the end), so result caps bite early and not late.
WORLD = {"synthetic": 6000, "first_block": FIRST_BLOCK, "blocks": BLOCKS, "skew": 2.0, "seed": 7}

EXCHANGE_V2 = "0xe111180000d2663c0091e4f400237545b87b996b"
ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDERS_MATCHED_V2 = "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c"
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ADDRESSES = list(DEFAULT_ADDRESSES)
TOPIC0S = list(DEFAULT_TOPIC0S)


def receipt_path() -> str:
    return str(shared_path("data", "chain", "receipt-0xc1375cac.json"))


def start_chain_sim(**options) -> SimProcess:
    return start_sim(
        "tiny",
        chain_logs=receipt_path(),
        chain_synthetic_logs=WORLD["synthetic"],
        chain_first_block=WORLD["first_block"],
        chain_blocks=WORLD["blocks"],
        chain_skew=WORLD["skew"],
        chain_seed=WORLD["seed"],
        **options,
    )


def expected_store() -> ChainLogStore:
    return build_store([receipt_path()], **WORLD)


def expected_logs(lo: int, hi: int, addresses=ADDRESSES, topic0s=TOPIC0S) -> list[dict]:
    """The logs of [lo, hi] an (address, topic0) filter selects, in chain order."""
    wanted_addresses, wanted_topics = set(addresses), set(topic0s)
    return [
        log
        for log in expected_store().iter_logs(lo, hi)
        if log["address"] in wanted_addresses and log["topics"][0] in wanted_topics
    ]
