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


# ---- position operations through the collateral adapters --------------------------------------
# shared/reference/polymarket-v2.md section 3.1: users (and the exchanges, for the MINT and MERGE
# legs of a match) call the adapters, which emit nothing of their own; the trail is the CTF's,
# the NegRiskAdapter's and pUSD's events, with the adapter as stakeholder or redeemer and the
# CTF transfers between the adapter and whoever called it.

CTF_COLLATERAL_ADAPTER = "0xada100db00ca00073811820692005400218fce1f"
NEG_RISK_CTF_COLLATERAL_ADAPTER = "0xada2005600dec949baf300f4c6120000bdb6eaab"
PUSD = "0xc011a7e12a19f7b1f670d46f03b03f3342e82dfb"
ZERO_ADDRESS = "0x" + "00" * 20
FULL_SET = (1, 2)  # a binary condition's partition into its two outcomes

Event = tuple[type, dict[str, Any]]


def adapter_of(neg_risk: bool) -> str:
    return NEG_RISK_CTF_COLLATERAL_ADAPTER if neg_risk else CTF_COLLATERAL_ADAPTER


def _batch(operator: str, sender: str, receiver: str, ids, amounts) -> Event:
    return chain_logs.TransferBatch, {
        "contract": CONDITIONAL_TOKENS,
        "operator": operator,
        "from_address": sender,
        "to_address": receiver,
        "token_ids": tuple(ids),
        "amounts": tuple(amounts),
    }


def _burn(operator: str, holder: str, token_id: int, amount: int) -> Event:
    return chain_logs.TransferSingle, {
        "contract": CONDITIONAL_TOKENS,
        "operator": operator,
        "from_address": holder,
        "to_address": ZERO_ADDRESS,
        "token_id": token_id,
        "amount": amount,
    }


def _pusd(row_type: type, adapter: str, receiver: str, amount: int) -> Event:
    return row_type, {
        "contract": PUSD,
        "caller": adapter,
        "asset": ctf.USDC_E,
        "to_address": receiver,
        "amount": amount,
    }


def _ctf_operation(row_type: type, stakeholder: str, neg_risk: bool, condition: str, amount):
    return row_type, {
        "contract": CONDITIONAL_TOKENS,
        "stakeholder": stakeholder,
        "collateral_token": ctf.NEG_RISK_WRAPPED_COLLATERAL if neg_risk else ctf.USDC_E,
        "parent_collection_id": ZERO_BYTES32,
        "condition_id": condition,
        "partition": FULL_SET,
        "amount": amount,
    }


def split_through_adapter(
    neg_risk: bool, caller: str, condition: str, token_ids, amount: int
) -> list[Event]:
    """`splitPosition` on an adapter: pUSD unwrapped, the full set minted to the adapter (via
    the NegRiskAdapter for neg-risk), then sent to the caller."""
    adapter = adapter_of(neg_risk)
    amounts = (amount,) * len(token_ids)
    events = [_pusd(chain_logs.CollateralUnwrapped, adapter, adapter, amount)]
    if neg_risk:
        events += [
            _batch(NEG_RISK_ADAPTER, ZERO_ADDRESS, NEG_RISK_ADAPTER, token_ids, amounts),
            _ctf_operation(chain_logs.PositionSplit, NEG_RISK_ADAPTER, True, condition, amount),
            _batch(NEG_RISK_ADAPTER, NEG_RISK_ADAPTER, adapter, token_ids, amounts),
            (
                chain_logs.NegRiskPositionSplit,
                {
                    "contract": NEG_RISK_ADAPTER,
                    "stakeholder": adapter,
                    "condition_id": condition,
                    "amount": amount,
                },
            ),
        ]
    else:
        events += [
            _batch(adapter, ZERO_ADDRESS, adapter, token_ids, amounts),
            _ctf_operation(chain_logs.PositionSplit, adapter, False, condition, amount),
        ]
    events.append(_batch(adapter, adapter, caller, token_ids, amounts))
    return events


def merge_through_adapter(
    neg_risk: bool, caller: str, condition: str, token_ids, amount: int
) -> list[Event]:
    """`mergePositions` on an adapter: the full set pulled from the caller and burnt, pUSD
    wrapped to the caller."""
    adapter = adapter_of(neg_risk)
    amounts = (amount,) * len(token_ids)
    events = [_batch(adapter, caller, adapter, token_ids, amounts)]
    if neg_risk:
        events += [
            _batch(NEG_RISK_ADAPTER, adapter, NEG_RISK_ADAPTER, token_ids, amounts),
            _batch(NEG_RISK_ADAPTER, NEG_RISK_ADAPTER, ZERO_ADDRESS, token_ids, amounts),
            _ctf_operation(chain_logs.PositionsMerge, NEG_RISK_ADAPTER, True, condition, amount),
            (
                chain_logs.NegRiskPositionsMerge,
                {
                    "contract": NEG_RISK_ADAPTER,
                    "stakeholder": adapter,
                    "condition_id": condition,
                    "amount": amount,
                },
            ),
        ]
    else:
        events += [
            _batch(adapter, adapter, ZERO_ADDRESS, token_ids, amounts),
            _ctf_operation(chain_logs.PositionsMerge, adapter, False, condition, amount),
        ]
    events.append(_pusd(chain_logs.CollateralWrapped, adapter, caller, amount))
    return events


def redeem_through_adapter(
    neg_risk: bool, caller: str, condition: str, token_ids, balances, payout: int
) -> list[Event]:
    """`redeemPositions` on an adapter: the caller's whole balance of both outcomes pulled,
    burnt by the CTF's redemption, the payout wrapped to the caller."""
    adapter = adapter_of(neg_risk)
    redeemer = NEG_RISK_ADAPTER if neg_risk else adapter
    events = [_batch(adapter, caller, adapter, token_ids, balances)]
    if neg_risk:
        events.append(_batch(NEG_RISK_ADAPTER, adapter, NEG_RISK_ADAPTER, token_ids, balances))
    events += [
        _burn(redeemer, redeemer, token, amount)
        for token, amount in zip(token_ids, balances, strict=True)
        if amount
    ]
    events.append(
        (
            chain_logs.PayoutRedemption,
            {
                "contract": CONDITIONAL_TOKENS,
                "redeemer": redeemer,
                "collateral_token": ctf.NEG_RISK_WRAPPED_COLLATERAL if neg_risk else ctf.USDC_E,
                "parent_collection_id": ZERO_BYTES32,
                "condition_id": condition,
                "index_sets": FULL_SET,
                "payout": payout,
            },
        )
    )
    if neg_risk:
        events.append(
            (
                chain_logs.NegRiskPayoutRedemption,
                {
                    "contract": NEG_RISK_ADAPTER,
                    "redeemer": adapter,
                    "condition_id": condition,
                    "amounts": tuple(balances),
                    "payout": payout,
                },
            )
        )
    if payout:
        events.append(_pusd(chain_logs.CollateralWrapped, adapter, caller, payout))
    return events


def convert_through_adapter(
    caller: str, market_id: str, index_set: int, no_token_ids, yes_token_ids, amount: int
) -> list[Event]:
    """`convertPositions` on the neg-risk adapter: `amount` NO shares of each question in
    `index_set` become `amount` YES shares of each other question and (k - 1) x `amount`
    collateral, k the questions named (NegRiskAdapter, no fee)."""
    adapter = NEG_RISK_CTF_COLLATERAL_ADAPTER
    no_amounts = (amount,) * len(no_token_ids)
    yes_amounts = (amount,) * len(yes_token_ids)
    events = [
        _batch(adapter, caller, adapter, no_token_ids, no_amounts),
        _batch(NEG_RISK_ADAPTER, adapter, NEG_RISK_ADAPTER, no_token_ids, no_amounts),
    ]
    if yes_token_ids:
        yes_in = _batch(NEG_RISK_ADAPTER, NEG_RISK_ADAPTER, adapter, yes_token_ids, yes_amounts)
        events.append(yes_in)
    events.append(
        (
            chain_logs.NegRiskPositionsConverted,
            {
                "contract": NEG_RISK_ADAPTER,
                "stakeholder": adapter,
                "market_id": market_id,
                "index_set": index_set,
                "amount": amount,
            },
        )
    )
    if yes_token_ids:
        events.append(_batch(adapter, adapter, caller, yes_token_ids, yes_amounts))
    if len(no_token_ids) > 1:
        collateral = (len(no_token_ids) - 1) * amount
        events.append(_pusd(chain_logs.CollateralWrapped, adapter, caller, collateral))
    return events
