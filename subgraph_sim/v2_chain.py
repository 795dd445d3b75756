"""The V2 era of a generated world on its chain: contract addresses, the dates of the V2
deployment and the cutover, and the builder that turns generated events into the logs the
contracts emit (encoded by `orchestration.lib.chain_logs`, never by hand).

Blocks are numbered as Polygon's (`POLYGON_REFERENCE_BLOCK`, 2 s apart), so the V2 exchanges'
deployment falls on block 84,902,353 as on Polygon.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.lib import chain_logs, ctf
from subgraph_sim.chain import DEFAULT_END_TIME, Chain, polygon_chain
from subgraph_sim.logstore import ChainLogStore

# 2026-04-28: the V1 exchanges stop, the subgraphs stop advancing.
CUTOVER_TIME = DEFAULT_END_TIME
# 2026-03-31: the V2 exchanges are deployed (shared/reference/polymarket-v2.md, note 4).
V2_DEPLOY_BLOCK = 84_902_353
V2_DEPLOY_TIME = polygon_chain().block_timestamp(V2_DEPLOY_BLOCK)

CTF_EXCHANGE_V2 = "0xe111180000d2663c0091e4f400237545b87b996b"
NEG_RISK_CTF_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310f59"
CONDITIONAL_TOKENS = "0x4d97dcd97ec945f40cf65f87097ace5ea0476045"
# The oracle of standard markets: an address standing for the UMA CTF adapter.
UMA_ADAPTER = "0x6a9d222616c90fca5754cd1333cfd9b7fb6a4f74"
NEG_RISK_ADAPTER = ctf.NEG_RISK_ADAPTER
ZERO_BYTES32 = "0x" + "00" * 32


def polygon_numbered(start_time: int) -> Chain:
    """A chain whose first block is at or before `start_time`, numbered and dated as Polygon's."""
    polygon = polygon_chain()
    genesis = polygon.block_at(start_time)
    return Chain(genesis, polygon.block_timestamp(genesis), polygon.block_time)


def exchange_of(neg_risk: bool) -> str:
    return NEG_RISK_CTF_EXCHANGE_V2 if neg_risk else CTF_EXCHANGE_V2


class ChainLogBuilder:
    """Transactions of events, by block, in the order they are added; `store()` places them
    (transaction and log indexes, block hashes and times) and encodes every row."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        # block -> transactions -> (row type, event fields)
        self._blocks: dict[int, list[tuple[str, list[tuple[type, dict[str, Any]]]]]] = {}

    def add_tx(
        self, block: int, tx_hash: str, events: list[tuple[type, Mapping[str, Any]]]
    ) -> None:
        self._blocks.setdefault(block, []).append((tx_hash, [(t, dict(f)) for t, f in events]))

    def store(self, head_block: int) -> ChainLogStore:
        store = ChainLogStore(self.chain, head_block=head_block)
        chain = self.chain
        logs = []
        for number in sorted(self._blocks):
            block_hash, block_time = chain.block_hash(number), chain.block_timestamp(number)
            log_index = 0
            for tx_index, (tx_hash, events) in enumerate(self._blocks[number]):
                for row_type, fields in events:
                    row = row_type(
                        transaction_hash=tx_hash,
                        log_index=log_index,
                        block_number=number,
                        block_hash=block_hash,
                        block_timestamp=block_time,
                        transaction_index=tx_index,
                        **fields,
                    )
                    logs.append(chain_logs.encode_log(row))
                    log_index += 1
        store.add_logs(logs)
        return store


def order_filled(
    exchange: str,
    order_hash: str,
    maker: str,
    taker: str,
    buying: bool,
    token_id: int,
    shares: int,
    usdc: int,
    fee: int,
    builder: str,
    metadata: str,
) -> tuple[type, dict[str, Any]]:
    """One order's `OrderFilled`: a BUY gives `usdc` for `shares`, a SELL the reverse."""
    given, received = (usdc, shares) if buying else (shares, usdc)
    return chain_logs.OrderFilled, {
        "contract": exchange,
        "order_hash": order_hash,
        "maker": maker,
        "taker": taker,
        "side": chain_logs.Side.BUY if buying else chain_logs.Side.SELL,
        "token_id": token_id,
        "maker_amount_filled": given,
        "taker_amount_filled": received,
        "fee": fee,
        "builder": builder,
        "metadata": metadata,
    }


def condition_preparation(oracle: str, question_id: str, condition_id: str):
    return chain_logs.ConditionPreparation, {
        "contract": CONDITIONAL_TOKENS,
        "condition_id": condition_id,
        "oracle": oracle,
        "question_id": question_id,
        "outcome_slot_count": 2,
    }


def condition_resolution(
    oracle: str, question_id: str, condition_id: str, payouts: tuple[int, ...]
):
    return chain_logs.ConditionResolution, {
        "contract": CONDITIONAL_TOKENS,
        "condition_id": condition_id,
        "oracle": oracle,
        "question_id": question_id,
        "outcome_slot_count": 2,
        "payout_numerators": payouts,
    }
