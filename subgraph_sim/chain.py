"""The simulated Polygon chain: block numbers, their timestamps and hashes, deployment ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# 2026-04-28T00:00:00Z, the day Polymarket moved to its V2 exchange contracts.
DEFAULT_END_TIME = 1_777_334_400
DEFAULT_BLOCK_TIME = 2
DEFAULT_GENESIS_BLOCK = 60_000_000
# A real Polygon block and its time (the V2 MINT match of shared/data/chain): the JSON-RPC
# face numbers and dates its blocks from here, 2 s apart, as Polygon roughly does.
POLYGON_REFERENCE_BLOCK = 85_671_485
POLYGON_REFERENCE_TIME = 1_776_463_014

# Subgraph short name -> (Goldsky name, version) as in DESIGN section 1.
SUBGRAPHS: dict[str, tuple[str, str]] = {
    "orderbook": ("orderbook-subgraph", "0.0.1"),
    "pnl": ("pnl-subgraph", "0.0.14"),
    "activity": ("activity-subgraph", "0.0.4"),
}
BY_PATH_NAME = {path_name: short for short, (path_name, _) in SUBGRAPHS.items()}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def deployment_id(subgraph: str) -> str:
    """An IPFS-style `Qm...` deployment hash, stable per subgraph name and version."""
    name, version = SUBGRAPHS[subgraph]
    n = int.from_bytes(hashlib.sha256(f"{name}@{version}".encode()).digest(), "big")
    chars = []
    while n:
        n, r = divmod(n, 58)
        chars.append(_B58[r])
    return "Qm" + "".join(reversed(chars))[:44].ljust(44, "1")


@dataclass(frozen=True)
class Chain:
    genesis_block: int
    genesis_time: int
    block_time: int = DEFAULT_BLOCK_TIME

    def block_timestamp(self, number: int) -> int:
        return self.genesis_time + (number - self.genesis_block) * self.block_time

    def block_at(self, timestamp: int) -> int:
        """The last block whose timestamp is at or before `timestamp`."""
        return self.genesis_block + (timestamp - self.genesis_time) // self.block_time

    def block_hash(self, number: int, fork: int = 0) -> str:
        """The hash of block `number`; `fork` > 0 gives the block that replaced it in a reorg."""
        # The hash looks random but carries its number (xor-masked by the digest), so
        # `block: {hash: ...}` can be answered without a table of every block.
        seed = b"block:%d" % number if fork == 0 else b"block:%d:fork:%d" % (number, fork)
        digest = hashlib.sha256(seed).digest()[:24]
        return "0x" + digest.hex() + format(number ^ _mask(digest), "016x")

    def block_number_of_hash(self, block_hash: str) -> int | None:
        text = block_hash.lower().removeprefix("0x")
        if len(text) != 64:
            return None
        try:
            digest = bytes.fromhex(text[:48])
            number = int(text[48:], 16) ^ _mask(digest)
        except ValueError:
            return None
        return number if self.block_hash(number) == "0x" + text else None


def polygon_chain() -> Chain:
    return Chain(POLYGON_REFERENCE_BLOCK, POLYGON_REFERENCE_TIME, DEFAULT_BLOCK_TIME)


def _mask(digest: bytes) -> int:
    return int.from_bytes(hashlib.sha256(digest).digest()[:8], "big")
