"""Logs of the shape `eth_getLogs` returns, with random topics and data, over a block span.

They stand in for the world's V2-era events until the generator emits those: enough to
exercise range limits, result caps, faults and reorgs. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from subgraph_sim.chain import polygon_chain
from subgraph_sim.logstore import ChainLogStore, read_logs

# Contracts and events the chain source reads (shared/reference/polymarket-v2.md): the two
# V2 exchanges and ConditionalTokens; OrderFilled, OrdersMatched, TransferBatch,
# TransferSingle and PositionSplit.
DEFAULT_ADDRESSES = (
    "0xe111180000d2663c0091e4f400237545b87b996b",
    "0xe2222d279d744050d28e00520010520000310f59",
    "0x4d97dcd97ec945f40cf65f87097ace5ea0476045",
)
DEFAULT_TOPIC0S = (
    "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee",
    "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c",
    "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb",
    "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62",
    "0x2e6bb91f8cbcda0c93623c54d0403a43514fabc40084ec96b6d5379a74786298",
)


def synthetic_logs(
    first_block: int,
    last_block: int,
    count: int,
    *,
    addresses: Sequence[str] = DEFAULT_ADDRESSES,
    topic0s: Sequence[str] = DEFAULT_TOPIC0S,
    seed: int = 0,
    skew: float = 1.0,
    skip_blocks: Collection[int] = (),
) -> list[dict[str, Any]]:
    """`count` logs in transactions of 1-4 logs, in blocks of [first_block, last_block].

    `skew` > 1 crowds them towards the first blocks (block density then varies over the
    span, as real traffic does); `skip_blocks` stay empty (e.g. blocks of recorded logs).
    Block hashes and times are left to the store that holds them.
    """
    if last_block < first_block:
        raise ValueError("empty block span")
    rng = random.Random(seed)
    span = last_block - first_block + 1
    by_block: dict[int, list[list[dict[str, Any]]]] = {}
    made = 0
    while made < count:
        number = first_block + min(span - 1, int(span * rng.random() ** skew))
        if number in skip_blocks:
            continue
        tx_hash = "0x" + rng.randbytes(32).hex()
        tx = []
        for _ in range(min(rng.randint(1, 4), count - made)):
            topics = [rng.choice(topic0s)]
            topics += ["0x" + rng.randbytes(32).hex() for _ in range(rng.randint(0, 3))]
            tx.append(
                {
                    "address": rng.choice(addresses).lower(),
                    "topics": topics,
                    "data": "0x" + rng.randbytes(32 * rng.randint(0, 7)).hex(),
                    "blockNumber": hex(number),
                    "transactionHash": tx_hash,
                    "removed": False,
                }
            )
        by_block.setdefault(number, []).append(tx)
        made += len(tx)
    logs: list[dict[str, Any]] = []
    for number in sorted(by_block):
        log_index = 0
        for tx_index, tx in enumerate(by_block[number]):
            for log in tx:
                log["transactionIndex"] = hex(tx_index)
                log["logIndex"] = hex(log_index)
                log_index += 1
                logs.append(log)
    return logs


def build_store(
    log_files: Sequence[str | Path] = (),
    synthetic: int = 0,
    *,
    first_block: int,
    blocks: int,
    skew: float = 1.0,
    seed: int = 0,
    head_block: int | None = None,
    store: ChainLogStore | None = None,
) -> ChainLogStore:
    """The chain the JSON-RPC face serves: recorded logs, then `synthetic` random ones in
    [first_block, first_block + blocks) around them, on blocks numbered as Polygon's; added
    to `store` (a generated world's chain, whose head stays) when given."""
    if store is None:
        store = ChainLogStore(polygon_chain(), head_block=head_block)
    for path in log_files:
        store.add_logs(read_logs(path))
    if synthetic:
        last = first_block + blocks - 1
        taken = set(store.blocks_between(first_block, last))
        store.add_logs(
            synthetic_logs(first_block, last, synthetic, seed=seed, skew=skew, skip_blocks=taken)
        )
    return store
