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
    OrderFilled,
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
LOG_TABLES = (CHAIN_ORDER_FILLED, CHAIN_CONDITION_PREPARATIONS, CHAIN_CONDITION_RESOLUTIONS)
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


# The table each event lands in, and how its row is built.
ROW_BUILDERS: dict[type[ChainLog], tuple[ChainTable, Callable[[Any, int], dict[str, Any]]]] = {
    OrderFilled: (CHAIN_ORDER_FILLED, order_filled_row),
    ConditionPreparation: (CHAIN_CONDITION_PREPARATIONS, preparation_row),
    ConditionResolution: (CHAIN_CONDITION_RESOLUTIONS, resolution_row),
}
