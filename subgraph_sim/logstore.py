"""The logs and blocks behind the JSON-RPC face: log dicts exactly as `eth_getLogs` returns
them, indexed by block, and the block headers they hang from.

Block hashes and times come from the simulated `Chain`, except where a log brought its own
(a real receipt): that block keeps the recorded hash and time, so its logs and
`eth_getBlockByNumber` agree. A reorg gives the newest blocks new hashes and moves, drops or
changes the transactions in them, as a chain reorganisation does.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from subgraph_sim.chain import Chain

LOG_FIELDS = (
    "address",
    "topics",
    "data",
    "blockNumber",
    "blockHash",
    "blockTimestamp",
    "transactionHash",
    "transactionIndex",
    "logIndex",
    "removed",
)
# What a reorg does to each transaction of the reorganised blocks, by cumulative chance.
_REORG_DROP, _REORG_MOVE, _REORG_CHANGE = 0.15, 0.35, 0.50


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def read_logs(path: str | Path) -> list[dict[str, Any]]:
    """Logs from a file: a transaction receipt (JSON-RPC envelope or not), a JSON array of
    logs, or JSON lines of logs."""
    raw = Path(path).read_bytes()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("result", data)
        data = data["logs"] if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise ValueError(f"{path}: no logs found")
    return data


class ChainLogStore:
    def __init__(self, chain: Chain, head_block: int | None = None) -> None:
        self.chain = chain
        self._blocks: dict[int, list[dict[str, Any]]] = {}  # logs of a block, by log index
        self._numbers: list[int] = []  # blocks holding logs, ascending
        self._pinned: dict[int, tuple[str, int]] = {}  # block -> recorded (hash, timestamp)
        self._forks: dict[int, int] = {}  # block -> how many reorgs replaced it
        # Logs of the last reorg's orphaned blocks, flagged `removed` as a node reports them
        # to a reader that raced the reorg.
        self.orphaned: list[dict[str, Any]] = []
        self._head_block = head_block

    # ---- blocks -------------------------------------------------------------------------

    @property
    def head_block(self) -> int:
        """The head the face starts with: as set, else the newest block holding a log."""
        if self._head_block is not None:
            return self._head_block
        return self._numbers[-1] if self._numbers else self.chain.genesis_block

    @property
    def log_count(self) -> int:
        return sum(len(logs) for logs in self._blocks.values())

    def block_hash(self, number: int) -> str:
        fork = self._forks.get(number, 0)
        if fork == 0 and number in self._pinned:
            return self._pinned[number][0]
        return self.chain.block_hash(number, fork)

    def block_timestamp(self, number: int) -> int:
        if number in self._pinned:
            return self._pinned[number][1]
        return self.chain.block_timestamp(number)

    def header(self, number: int) -> dict[str, Any]:
        """The block as `eth_getBlockByNumber(n, false)` returns it."""
        transactions = list(dict.fromkeys(log["transactionHash"] for log in self.logs_of(number)))
        return {
            "number": hex(number),
            "hash": self.block_hash(number),
            "parentHash": self.block_hash(number - 1),
            "timestamp": hex(self.block_timestamp(number)),
            "transactions": transactions,
            "miner": "0x0000000000000000000000000000000000000000",
            "difficulty": "0x1",
            "gasLimit": "0x1c9c380",
            "gasUsed": "0x0",
            "baseFeePerGas": "0x1a13b8600",
            "extraData": "0x",
            "logsBloom": "0x" + "00" * 256,
            "nonce": "0x0000000000000000",
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "uncles": [],
        }

    # ---- logs ---------------------------------------------------------------------------

    def logs_of(self, number: int) -> list[dict[str, Any]]:
        return self._blocks.get(number, [])

    def blocks_between(self, lo: int, hi: int) -> list[int]:
        """Blocks in [lo, hi] that hold logs, ascending."""
        left = bisect.bisect_left(self._numbers, lo)
        right = bisect.bisect_right(self._numbers, hi)
        return self._numbers[left:right]

    def iter_logs(self, lo: int, hi: int) -> Iterator[dict[str, Any]]:
        for number in self.blocks_between(lo, hi):
            yield from self._blocks[number]

    def add_logs(self, logs: Iterable[dict[str, Any]]) -> int:
        """Add logs as `eth_getLogs` returns them. Missing block hashes and times are the
        chain's; recorded ones pin their block. Raises on a clash with what is stored."""
        added = 0
        touched: set[int] = set()
        for raw in logs:
            log = self._normalised(raw)
            number = _int(log["blockNumber"])
            block = self._blocks.setdefault(number, [])
            index = _int(log["logIndex"])
            if any(_int(other["logIndex"]) == index for other in block):
                raise ValueError(f"block {number} already has a log at index {index}")
            block.append(log)
            touched.add(number)
            added += 1
        for number in touched:
            self._blocks[number].sort(key=lambda log: _int(log["logIndex"]))
            if number not in self._numbers:
                bisect.insort(self._numbers, number)
        return added

    def _normalised(self, raw: dict[str, Any]) -> dict[str, Any]:
        missing = {"address", "topics", "data", "blockNumber", "transactionHash", "logIndex"}
        missing -= raw.keys()
        if missing:
            raise ValueError(f"log lacks {sorted(missing)}: {raw}")
        number = _int(raw["blockNumber"])
        recorded_hash = raw.get("blockHash")
        recorded_time = raw.get("blockTimestamp")
        if recorded_hash or recorded_time is not None:
            pin = (
                str(recorded_hash or self.block_hash(number)).lower(),
                _int(recorded_time) if recorded_time is not None else self.block_timestamp(number),
            )
            if pin != (self.block_hash(number), self.block_timestamp(number)):
                if number in self._pinned or self._blocks.get(number):
                    raise ValueError(f"block {number}: log's hash/time differ from the stored ones")
                self._pinned[number] = pin
        return {
            "address": raw["address"].lower(),
            "topics": [t.lower() for t in raw["topics"]],
            "data": raw["data"].lower(),
            "blockNumber": hex(number),
            "blockHash": self.block_hash(number),
            "blockTimestamp": hex(self.block_timestamp(number)),
            "transactionHash": raw["transactionHash"].lower(),
            "transactionIndex": hex(_int(raw.get("transactionIndex", 0))),
            "logIndex": hex(_int(raw["logIndex"])),
            "removed": False,
        }

    # ---- reorgs -------------------------------------------------------------------------

    def reorg(self, head: int, depth: int, seed: int = 0) -> dict[str, Any]:
        """Replace blocks (head - depth, head] with new ones.

        Each transaction in them stays (in a block with a new hash), moves to another of
        those blocks, is dropped, or comes back with different data. Block times are kept.
        """
        if depth < 1:
            raise ValueError("a reorg replaces at least one block")
        rng = random.Random(seed)
        lo = head - depth + 1
        window = list(range(lo, head + 1))
        for number in window:
            self._forks[number] = self._forks.get(number, 0) + 1
        summary = {"from_block": lo, "to_block": head, "kept": 0, "moved": 0, "dropped": 0}
        summary["changed"] = 0
        self.orphaned = [{**log, "removed": True} for log in self.iter_logs(lo, head)]
        staying: dict[int, list[list[dict[str, Any]]]] = {n: [] for n in window}
        arriving: dict[int, list[list[dict[str, Any]]]] = {n: [] for n in window}
        for number in self.blocks_between(lo, head):
            for tx in _transactions(self._blocks.pop(number)):
                roll = rng.random()
                if roll < _REORG_DROP:
                    summary["dropped"] += len(tx)
                elif roll < _REORG_MOVE and depth > 1:
                    target = rng.choice([n for n in window if n != number])
                    arriving[target].append(tx)
                    summary["moved"] += len(tx)
                elif roll < _REORG_CHANGE:
                    staying[number].append([_changed(log, rng) for log in tx])
                    summary["changed"] += len(tx)
                else:
                    staying[number].append(tx)
                    summary["kept"] += len(tx)
            self._numbers.remove(number)
        for number in window:
            logs = self._rebuilt(number, staying[number], arriving[number])
            if logs:
                self._blocks[number] = logs
                bisect.insort(self._numbers, number)
        return summary

    def _rebuilt(
        self, number: int, staying: list[list[dict]], arriving: list[list[dict]]
    ) -> list[dict[str, Any]]:
        logs = [log for tx in staying for log in tx]
        next_tx = max((_int(log["transactionIndex"]) for log in logs), default=-1) + 1
        next_log = max((_int(log["logIndex"]) for log in logs), default=-1) + 1
        for offset, tx in enumerate(arriving):
            for log in tx:
                logs.append(
                    {**log, "transactionIndex": hex(next_tx + offset), "logIndex": hex(next_log)}
                )
                next_log += 1
        header = {
            "blockNumber": hex(number),
            "blockHash": self.block_hash(number),
            "blockTimestamp": hex(self.block_timestamp(number)),
        }
        return [{**log, **header} for log in logs]


def _transactions(logs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by_hash: dict[str, list[dict[str, Any]]] = {}
    for log in logs:
        by_hash.setdefault(log["transactionHash"], []).append(log)
    return list(by_hash.values())


def _changed(log: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same log with other data of the same length (the transaction ran differently)."""
    width = max(32, (len(log["data"]) - 2) // 2)
    return {**log, "data": "0x" + rng.randbytes(width).hex()}
