"""The raw tables the chain source lands, and how a decoded log becomes a row of one.

Every log table is keyed by where the log sits, `(transaction_hash, log_index)`, and carries
the block it came from (`block_number`, `block_hash`, `block_time`), the emitting contract,
`source = 'chain'` and `_extracted_at`. Column kinds are those of `entities.py` (token and
position ids are decimal text: 77 digits do not fit any SQL integer). `chain_blocks` records
the hash of every block rows were loaded from (and of each range's last block), which is what
a later run compares with the chain to find a reorg.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.lib import ctf
from orchestration.lib.chain_logs import (
    ChainLog,
    ConditionPreparation,
    ConditionResolution,
    NegRiskPayoutRedemption,
    NegRiskPositionsConverted,
    NegRiskPositionsMerge,
    NegRiskPositionSplit,
    OrderFilled,
    PayoutRedemption,
    PositionsMerge,
    PositionSplit,
    TransferBatch,
    TransferSingle,
)

SOURCE = "chain"
# Where each log row sits; appended to every log table's own columns.
LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("transaction_hash", "text"),
    ("log_index", "int"),
    ("block_number", "long"),
    ("block_hash", "text"),
    ("block_time", "long"),
    ("source", "text"),
)
LOG_KEY = ("transaction_hash", "log_index")


@dataclass(frozen=True)
class ChainTable:
    table: str  # raw table and asset key ["polymarket", table]
    columns: tuple[tuple[str, str], ...]  # (column, kind), as in entities.py
    key: tuple[str, ...]
    description: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def asset_key(self) -> list[str]:
        return ["polymarket", self.table]


CHAIN_ORDER_FILLED = ChainTable(
    table="chain_order_filled",
    columns=(
        ("exchange", "text"),
        ("order_hash", "text"),
        ("maker", "text"),
        ("taker", "text"),
        ("side", "text"),
        ("token_id", "text"),
        ("maker_amount_filled", "bigint"),
        ("taker_amount_filled", "bigint"),
        ("fee", "bigint"),
        ("builder", "text"),
        ("metadata", "text"),
        *LOG_COLUMNS,
    ),
    key=LOG_KEY,
    description="V2 exchange OrderFilled logs, one per order of a match, read from Polygon.",
)
CHAIN_CONDITION_PREPARATIONS = ChainTable(
    table="chain_condition_preparations",
    columns=(
        ("condition_id", "text"),
        ("oracle", "text"),
        ("question_id", "text"),
        ("outcome_slot_count", "int"),
        ("collateral", "text"),
        ("position_ids", "texts"),
        ("contract", "text"),
        *LOG_COLUMNS,
    ),
    key=LOG_KEY,
    description="ConditionalTokens ConditionPreparation logs with each outcome's token id.",
)
CHAIN_CONDITION_RESOLUTIONS = ChainTable(
    table="chain_condition_resolutions",
    columns=(
        ("condition_id", "text"),
        ("oracle", "text"),
        ("question_id", "text"),
        ("outcome_slot_count", "int"),
        ("payout_numerators", "bigints"),
        ("contract", "text"),
        *LOG_COLUMNS,
    ),
    key=LOG_KEY,
    description="ConditionalTokens ConditionResolution logs: the payout of each outcome.",
)
CHAIN_POSITION_OPERATIONS = ChainTable(
    table="chain_position_operations",
    columns=(
        ("contract", "text"),  # ConditionalTokens or the NegRiskAdapter
        ("event", "text"),  # the Solidity event name
        ("operation", "text"),  # split, merge, redemption or conversion
        ("stakeholder", "text"),  # the caller (a collateral adapter): stakeholder or redeemer
        ("collateral_token", "text"),  # ConditionalTokens events only
        ("parent_collection_id", "text"),  # ConditionalTokens events only
        ("condition_id", "text"),  # null for a conversion
        ("market_id", "text"),  # a conversion's neg-risk market
        ("index_set", "text"),  # a conversion's questions (a bit set of up to 256 bits)
        ("index_sets", "bigints"),  # the partition split or merged, the index sets redeemed
        ("amounts", "bigints"),  # a NegRiskAdapter redemption: the amount of each outcome
        ("amount", "bigint"),  # split, merged or converted (per question)
        ("payout", "bigint"),  # a redemption's collateral
        *LOG_COLUMNS,
    ),
    key=LOG_KEY,
    description=(
        "ConditionalTokens and NegRiskAdapter split, merge, redemption and conversion logs "
        "made by the collateral adapters."
    ),
)
CHAIN_ADAPTER_TRANSFERS = ChainTable(
    table="chain_adapter_transfers",
    columns=(
        ("contract", "text"),
        ("event", "text"),  # TransferSingle or TransferBatch
        ("operator", "text"),
        ("from_address", "text"),
        ("to_address", "text"),
        ("token_ids", "texts"),  # one for a TransferSingle
        ("amounts", "bigints"),
        *LOG_COLUMNS,
    ),
    key=LOG_KEY,
    description=(
        "ConditionalTokens transfers from or to a collateral adapter: who an adapter's "
        "operation was for."
    ),
)
CHAIN_BLOCKS = ChainTable(
    table="chain_blocks",
    columns=(
        ("block_number", "long"),
        ("block_hash", "text"),
        # Only known when the header was read: providers that send `blockTimestamp` with
        # each log spare the header reads of the blocks that hold logs.
        ("parent_hash", "text"),
        ("block_time", "long"),
    ),
    key=("block_number",),
    description="Hash and time of each block chain rows were loaded from, to detect reorgs.",
)
LOG_TABLES = (
    CHAIN_ORDER_FILLED,
    CHAIN_CONDITION_PREPARATIONS,
    CHAIN_CONDITION_RESOLUTIONS,
    CHAIN_POSITION_OPERATIONS,
    CHAIN_ADAPTER_TRANSFERS,
)
CHAIN_TABLES = (*LOG_TABLES, CHAIN_BLOCKS)


def _location(log: ChainLog, block_time: int) -> dict[str, Any]:
    return {
        "transaction_hash": log.transaction_hash,
        "log_index": log.log_index,
        "block_number": log.block_number,
        "block_hash": log.block_hash,
        "block_time": block_time,
        "source": SOURCE,
    }


def order_filled_row(log: OrderFilled, block_time: int) -> dict[str, Any]:
    return {
        "exchange": log.contract,
        "order_hash": log.order_hash,
        "maker": log.maker,
        "taker": log.taker,
        "side": log.side.name,
        "token_id": str(log.token_id),
        "maker_amount_filled": log.maker_amount_filled,
        "taker_amount_filled": log.taker_amount_filled,
        "fee": log.fee,
        "builder": log.builder,
        "metadata": log.metadata,
        **_location(log, block_time),
    }


def preparation_row(log: ConditionPreparation, block_time: int) -> dict[str, Any]:
    collateral = ctf.ctf_collateral(log.oracle)
    positions = ctf.token_ids(log.condition_id, collateral, log.outcome_slot_count)
    return {
        "condition_id": log.condition_id,
        "oracle": log.oracle,
        "question_id": log.question_id,
        "outcome_slot_count": log.outcome_slot_count,
        "collateral": collateral,
        "position_ids": [str(p) for p in positions],  # index = outcome index
        "contract": log.contract,
        **_location(log, block_time),
    }


def resolution_row(log: ConditionResolution, block_time: int) -> dict[str, Any]:
    return {
        "condition_id": log.condition_id,
        "oracle": log.oracle,
        "question_id": log.question_id,
        "outcome_slot_count": log.outcome_slot_count,
        "payout_numerators": list(log.payout_numerators),
        "contract": log.contract,
        **_location(log, block_time),
    }


def _operation(log: ChainLog, **fields: Any) -> dict[str, Any]:
    """A chain_position_operations row: the columns this event has, the others null."""
    columns = dict.fromkeys(CHAIN_POSITION_OPERATIONS.fields)
    columns.update(contract=log.contract, event=log.event, **fields)
    return columns


def ctf_operation_row(
    log: PositionSplit | PositionsMerge | PayoutRedemption, block_time: int
) -> dict[str, Any]:
    if isinstance(log, PayoutRedemption):
        fields = {
            "operation": "redemption",
            "stakeholder": log.redeemer,
            "index_sets": list(log.index_sets),
            "payout": log.payout,
        }
    else:
        fields = {
            "operation": "split" if isinstance(log, PositionSplit) else "merge",
            "stakeholder": log.stakeholder,
            "index_sets": list(log.partition),
            "amount": log.amount,
        }
    return {
        **_operation(
            log,
            collateral_token=log.collateral_token,
            parent_collection_id=log.parent_collection_id,
            condition_id=log.condition_id,
            **fields,
        ),
        **_location(log, block_time),
    }


def neg_risk_operation_row(log: ChainLog, block_time: int) -> dict[str, Any]:
    if isinstance(log, NegRiskPositionsConverted):
        fields = {
            "operation": "conversion",
            "stakeholder": log.stakeholder,
            "market_id": log.market_id,
            "index_set": str(log.index_set),
            "amount": log.amount,
        }
    elif isinstance(log, NegRiskPayoutRedemption):
        fields = {
            "operation": "redemption",
            "stakeholder": log.redeemer,
            "condition_id": log.condition_id,
            # NegRiskAdapter.redeemPositions redeems the partition [1, 2] of the question
            "index_sets": [1, 2],
            "amounts": list(log.amounts),
            "payout": log.payout,
        }
    else:
        fields = {
            "operation": "split" if isinstance(log, NegRiskPositionSplit) else "merge",
            "stakeholder": log.stakeholder,
            "condition_id": log.condition_id,
            "index_sets": [1, 2],  # a neg-risk question's full set, as the CTF call it makes
            "amount": log.amount,
        }
    return {**_operation(log, **fields), **_location(log, block_time)}


def transfer_row(log: TransferSingle | TransferBatch, block_time: int) -> dict[str, Any]:
    if isinstance(log, TransferSingle):
        token_ids, amounts = [log.token_id], [log.amount]
    else:
        token_ids, amounts = list(log.token_ids), list(log.amounts)
    return {
        "contract": log.contract,
        "event": log.event,
        "operator": log.operator,
        "from_address": log.from_address,
        "to_address": log.to_address,
        "token_ids": [str(t) for t in token_ids],
        "amounts": amounts,
        **_location(log, block_time),
    }


# The table each event lands in, and how its row is built.
ROW_BUILDERS: dict[type[ChainLog], tuple[ChainTable, Callable[[Any, int], dict[str, Any]]]] = {
    OrderFilled: (CHAIN_ORDER_FILLED, order_filled_row),
    ConditionPreparation: (CHAIN_CONDITION_PREPARATIONS, preparation_row),
    ConditionResolution: (CHAIN_CONDITION_RESOLUTIONS, resolution_row),
    PositionSplit: (CHAIN_POSITION_OPERATIONS, ctf_operation_row),
    PositionsMerge: (CHAIN_POSITION_OPERATIONS, ctf_operation_row),
    PayoutRedemption: (CHAIN_POSITION_OPERATIONS, ctf_operation_row),
    NegRiskPositionSplit: (CHAIN_POSITION_OPERATIONS, neg_risk_operation_row),
    NegRiskPositionsMerge: (CHAIN_POSITION_OPERATIONS, neg_risk_operation_row),
    NegRiskPositionsConverted: (CHAIN_POSITION_OPERATIONS, neg_risk_operation_row),
    NegRiskPayoutRedemption: (CHAIN_POSITION_OPERATIONS, neg_risk_operation_row),
    TransferSingle: (CHAIN_ADAPTER_TRANSFERS, transfer_row),
    TransferBatch: (CHAIN_ADAPTER_TRANSFERS, transfer_row),
}
