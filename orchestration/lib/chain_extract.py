"""Extraction runs of the chain source: V2 fills, CTF conditions and the collateral adapters'
position operations from Polygon logs into raw tables, resumable, reorg-safe, with progress
reports.

The adapters' operations are read by topic, so the volume read follows adapter traffic, not
every ConditionalTokens event: the CTF and NegRiskAdapter operation events whose stakeholder
(or redeemer, topic 1) is an adapter, and the CTF transfers whose `from` (topic 2) or `to`
(topic 3) is one, each position its own `eth_getLogs` filter.

A run first re-checks the hashes of the newest blocks it loaded: from the first that the chain
no longer has, every row and block is deleted and the cursor moves back, in one transaction.
It then reads from the cursor (or the start block) to `head - confirmations` with `iter_logs`,
and commits each range's rows, the hashes of its blocks and the cursor in one transaction, so
a crash between ranges loses nothing and a rerun duplicates nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.addresses import DEFAULT_COLLATERAL_ADAPTERS
from orchestration.lib.chain import Block, ChainClient
from orchestration.lib.chain_logs import (
    CONDITIONAL_TOKENS_EVENTS,
    EXCHANGE_EVENTS,
    NEG_RISK_ADAPTER_EVENTS,
    ChainLog,
    decode_log,
    topic0,
)
from orchestration.lib.chain_ranges import LogFilter, LogRange, iter_logs
from orchestration.lib.chain_tables import (
    CHAIN_ADAPTER_TRANSFERS,
    CHAIN_BLOCKS,
    CHAIN_POSITION_OPERATIONS,
    CHAIN_TABLES,
    ROW_BUILDERS,
    ChainTable,
)
from orchestration.lib.warehouse import Warehouse

Progress = Callable[[str], None]
CURSOR = "chain"

# shared/reference/polymarket-v2.md section 1: CTFExchangeV2, NegRiskCtfExchangeV2 and the
# short-lived NegRisk V2 "B" (harmless to include), and the ConditionalTokens contract.
V2_EXCHANGES = (
    "0xe111180000d2663c0091e4f400237545b87b996b",
    "0xe2222d279d744050d28e00520010520000310f59",
    "0xe2222d002000ba0053cef3375333610f64600036",
)
CONDITIONAL_TOKENS = "0x4d97dcd97ec945f40cf65f87097ace5ea0476045"
NEG_RISK_ADAPTER = "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296"
# Which events are read from which contracts, in whatever filter they come.
WANTED: dict[str, frozenset[str]] = {
    **{address: frozenset(map(topic0, EXCHANGE_EVENTS)) for address in V2_EXCHANGES},
    CONDITIONAL_TOKENS: frozenset(map(topic0, CONDITIONAL_TOKENS_EVENTS)),
    NEG_RISK_ADAPTER: frozenset(map(topic0, NEG_RISK_ADAPTER_EVENTS)),
}
# The events a table lands, by topic0: the adapters' operations and transfers are read by
# adapter (a topic filter), every other event of `ROW_BUILDERS` by contract alone.
_LANDS = {topic0(event): table for event, (table, _) in ROW_BUILDERS.items()}
_OPERATIONS = [t for t, table in _LANDS.items() if table is CHAIN_POSITION_OPERATIONS]
_TRANSFERS = [t for t, table in _LANDS.items() if table is CHAIN_ADAPTER_TRANSFERS]
_BY_CONTRACT = [t for t in _LANDS if t not in (*_OPERATIONS, *_TRANSFERS)]


def log_filters(adapters: Sequence[str] = DEFAULT_COLLATERAL_ADAPTERS) -> list[LogFilter]:
    """The `eth_getLogs` filters of one range: fills and conditions by contract and topic0;
    operations whose topic 1 (stakeholder, redeemer) is an adapter; transfers whose `from`
    (topic 2), then whose `to` (topic 3), is an adapter. Topic positions of one filter are
    ANDed, so `from` and `to` take a filter each."""
    adapters = sorted({address_topic(a) for a in adapters})
    return [
        (sorted([*V2_EXCHANGES, CONDITIONAL_TOKENS]), [sorted(_BY_CONTRACT)]),
        (sorted([CONDITIONAL_TOKENS, NEG_RISK_ADAPTER]), [sorted(_OPERATIONS), adapters]),
        ([CONDITIONAL_TOKENS], [_TRANSFERS, None, adapters]),
        ([CONDITIONAL_TOKENS], [_TRANSFERS, None, None, adapters]),
    ]


def address_topic(address: str) -> str:
    """An indexed address as its topic: left-padded to 32 bytes."""
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def matches(log: dict[str, Any], filters: Sequence[LogFilter]) -> bool:
    """Whether a node would answer `log` to one of `filters` (the JSON-RPC topic rule: each
    position None, one topic, or a list of them), and it is an event its contract emits."""
    address, topics = log["address"].lower(), [t.lower() for t in log["topics"]]
    if not topics or topics[0] not in WANTED.get(address, ()):
        return False
    for addresses, wanted in filters:
        if address not in addresses or len(wanted) > len(topics):
            continue
        if all(
            want is None or topics[i] in ([want] if isinstance(want, str) else want)
            for i, want in enumerate(wanted)
        ):
            return True
    return False


DEFAULT_START_BLOCK = 84_902_353  # the V2 exchanges' deployment
DEFAULT_CONFIRMATIONS = 32
DEFAULT_MAX_BLOCK_RANGE = 2000
REORG_WINDOW_FACTOR = 4  # the reorg re-check covers this many times the confirmations


@dataclass
class ChainExtractResult:
    rows: dict[str, int] = field(default_factory=lambda: {t.table: 0 for t in CHAIN_TABLES})
    logs: int = 0
    ranges: int = 0
    from_block: int | None = None
    to_block: int | None = None  # the last block loaded (the cursor), None: none yet
    head: int = 0
    block_time: int | None = None  # time of the last block loaded
    reorg_from: int | None = None  # first block a reorg replaced, if one was found
    rows_deleted: int = 0
    seconds: float = 0.0

    @property
    def blocks(self) -> int:
        if self.from_block is None or self.to_block is None:
            return 0
        return max(0, self.to_block - self.from_block + 1)

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "rows": sum(v for k, v in self.rows.items() if k != CHAIN_BLOCKS.table),
            **{f"rows_{k}": v for k, v in self.rows.items()},
            "logs": self.logs,
            "ranges": self.ranges,
            "blocks": self.blocks,
            "head": self.head,
            "loaded_block": self.to_block if self.to_block is not None else -1,
            "lag_blocks": self.head - self.to_block if self.to_block is not None else -1,
            "logs_per_second": round(self.logs / self.seconds, 1) if self.seconds else 0.0,
            "seconds": round(self.seconds, 2),
        }
        if self.block_time is not None:
            meta["chain_block_time"] = self.block_time
            meta["lag_seconds"] = max(0, int(time.time()) - self.block_time)
        if self.reorg_from is not None:
            meta["reorg_from_block"] = self.reorg_from
            meta["reorg_rows_deleted"] = self.rows_deleted
        return meta


def extract_chain(
    client: ChainClient,
    warehouse: Warehouse,
    *,
    start_block: int = DEFAULT_START_BLOCK,
    confirmations: int = DEFAULT_CONFIRMATIONS,
    max_block_range: int = DEFAULT_MAX_BLOCK_RANGE,
    reorg_window: int | None = None,
    workers: int = 4,
    adapters: Sequence[str] = DEFAULT_COLLATERAL_ADAPTERS,
    progress: Progress = print,
    warn: Progress | None = None,
) -> ChainExtractResult:
    """One run: undo a reorg if the newest loaded blocks changed, then read up to the
    confirmed head. Every chain table must exist (`Warehouse.ensure_raw_schema`)."""
    started = time.monotonic()
    result = ChainExtractResult()
    window = reorg_window if reorg_window is not None else REORG_WINDOW_FACTOR * confirmations
    result.head = client.block_number()
    cursor = warehouse.get_cursor(CURSOR) or {}
    loaded = cursor.get("block")
    if loaded is not None:
        loaded = _undo_reorg(client, warehouse, int(loaded), start_block, window, result, warn)
        if result.reorg_from is None:
            result.to_block, result.block_time = loaded, cursor.get("block_time")
        else:
            result.to_block = loaded
    first = start_block if loaded is None else loaded + 1
    last = result.head - confirmations
    result.from_block = first
    if first > last:
        progress(f"chain: blocks up to {last} (head {result.head}) already loaded")
        result.seconds = time.monotonic() - started
        return result
    progress(
        f"chain: reading blocks [{first}, {last}] (head {result.head}, "
        f"{confirmations} confirmations) from {client.endpoint}"
    )
    (addresses, topics), *more_filters = filters = log_filters(adapters)
    ranges = iter_logs(
        client, addresses, topics, first, last, more_filters=more_filters,
        max_range=max_block_range, workers=workers, progress=progress,
    )  # fmt: skip
    for log_range in ranges:
        batches, blocks = _rows_of(client, log_range, filters)
        state = {"block": log_range.to_block, "block_time": blocks[log_range.to_block].timestamp}
        warehouse.load_chain(batches, cursor=(CURSOR, state))
        for table, rows in batches.items():
            result.rows[table.table] += len(rows)
        result.logs += len(log_range.logs)
        result.ranges += 1
        result.to_block, result.block_time = log_range.to_block, state["block_time"]
    result.seconds = time.monotonic() - started
    progress(
        f"chain: loaded blocks [{first}, {last}]: {result.logs} logs, "
        f"{result.metadata()['rows']} rows in {result.ranges} ranges, "
        f"{result.metadata()['logs_per_second']} logs/s"
    )
    return result


def _rows_of(
    client: ChainClient, log_range: LogRange, filters: Sequence[LogFilter]
) -> tuple[dict[ChainTable, list[dict[str, Any]]], dict[int, Block]]:
    """A range's rows per table, and the blocks recorded for it (those holding rows and the
    range's last block, whose hash later runs check)."""
    decoded: list[ChainLog] = [decode_log(log) for log in log_range.logs if matches(log, filters)]
    # Block hashes are those the rows came from; a header read later could be of a block
    # that replaced it, and the next run's re-check must compare with what the rows hold.
    blocks: dict[int, Block] = {}
    for log in decoded:
        if log.block_timestamp is not None:
            blocks[log.block_number] = Block(
                log.block_number, log.block_hash, "", log.block_timestamp
            )
    headers = client.get_blocks(
        {log.block_number for log in decoded if log.block_number not in blocks}
        | {log_range.to_block}
    )
    for number, header in headers.items():
        known = blocks.get(number)
        hash_ = known.hash if known else _row_hash(decoded, number, header.hash)
        parent = header.parent_hash if hash_ == header.hash else ""
        blocks[number] = Block(number, hash_, parent, header.timestamp)
    batches: dict[ChainTable, list[dict[str, Any]]] = defaultdict(list)
    for log in decoded:
        table, build = ROW_BUILDERS[type(log)]
        batches[table].append(build(log, blocks[log.block_number].timestamp))
    batches[CHAIN_BLOCKS] = [
        {
            "block_number": b.number,
            "block_hash": b.hash,
            "parent_hash": b.parent_hash or None,
            "block_time": b.timestamp,
        }
        for b in sorted(blocks.values(), key=lambda b: b.number)
    ]
    return dict(batches), blocks


def _row_hash(decoded: Sequence[ChainLog], number: int, default: str) -> str:
    return next((log.block_hash for log in decoded if log.block_number == number), default)


def _undo_reorg(
    client: ChainClient,
    warehouse: Warehouse,
    loaded: int,
    start_block: int,
    window: int,
    result: ChainExtractResult,
    warn: Progress | None,
) -> int | None:
    """The last loaded block that is still canonical, once what a reorg orphaned is deleted.

    The stored blocks of the newest `window` blocks are compared with the chain's; when even
    the oldest of them changed, the next older window is checked, and so on.
    """
    top, first_changed, keep = loaded, None, None
    while True:
        stored = dict(
            warehouse.fetchall(
                f"select block_number, block_hash from raw.{CHAIN_BLOCKS.table} "
                f"where block_number > {warehouse.placeholder} "
                f"and block_number <= {warehouse.placeholder} order by block_number",
                [top - window, top],
            )
        )
        if not stored:
            if top - window < start_block:
                if first_changed is None:
                    return loaded  # no block stored to check
                break  # nothing older was loaded: every stored block changed
            top -= window
            continue
        canonical = client.get_blocks(stored)
        changed = [n for n in sorted(stored) if canonical[n].hash.lower() != stored[n].lower()]
        if not changed:
            if first_changed is None:
                return loaded  # no reorg
            keep = max(stored)
            break
        first_changed = changed[0]
        older = [n for n in stored if n < first_changed]
        if older:
            keep = max(older)
            break
        # Every stored block of this window changed: the fork is further back.
        top = first_changed - 1
        if top < start_block:
            break
    resume = keep + 1 if keep is not None else start_block
    # Blocks between the last unchanged stored block and the first changed one held no rows,
    # but the new chain may put some there: reading resumes right after `keep`.
    deleted = warehouse.delete_chain_from(resume, cursor=(CURSOR, {"block": keep}))
    result.reorg_from, result.rows_deleted = first_changed, deleted
    (warn or print)(
        f"chain: reorg: the loaded block {first_changed} is no longer canonical; deleted "
        f"{deleted} rows and blocks from block {resume} on and reading again from there"
    )
    return keep
