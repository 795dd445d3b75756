"""A generated or recorded subgraph dataset: its chain, its tables, and its head block; for a
world that crosses the V2 cutover, also the chain's logs that the JSON-RPC face serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from subgraph_sim.chain import SUBGRAPHS, Chain, deployment_id
from subgraph_sim.gamma import GammaCatalog
from subgraph_sim.logstore import ChainLogStore
from subgraph_sim.schema import entity_specs
from subgraph_sim.store import Table, storage_value

# Entity types whose entities change over time: graph-node keeps one version per block.
MUTABLE_TYPES = {("pnl", "UserPosition"), ("pnl", "Condition"), ("orderbook", "Orderbook")}


def order_filled_derived() -> dict:
    """OrderFilledEvent's hashes are slices of its id `<txHash>_<orderHash>`; not stored twice."""
    return {
        "transactionHash": ("id", lambda eid: eid[:66]),
        "orderHash": ("id", lambda eid: eid[67:]),
    }


class Dataset:
    def __init__(
        self,
        chain: Chain,
        tables: dict[tuple[str, str], Table],
        head_block: int,
        info: dict[str, Any] | None = None,
        chain_logs: ChainLogStore | None = None,
        gamma: GammaCatalog | None = None,
    ) -> None:
        self.chain = chain
        self.gamma = gamma or GammaCatalog([], [], [])  # market metadata (Gamma face)
        self.head_block = head_block
        self.info = info or {}
        self.chain_logs = chain_logs  # None: the world has no chain of its own
        self.tables: dict[tuple[str, str], Table] = {}
        for subgraph in SUBGRAPHS:
            for name, spec in entity_specs(subgraph).items():
                key = (subgraph, name)
                self.tables[key] = tables.get(key) or Table.empty(spec, key in MUTABLE_TYPES)

    def block_timestamp(self, number: int) -> int:
        return self.chain.block_timestamp(number)

    @property
    def last_block(self) -> int:
        """The newest block at which anything in the dataset becomes visible."""
        return max([self.head_block, *(t.max_vis for t in self.tables.values())])

    def deployments(self) -> dict[str, str]:
        return {subgraph: deployment_id(subgraph) for subgraph in SUBGRAPHS}

    def table(self, subgraph: str, type_name: str) -> Table:
        return self.tables[(subgraph, type_name)]

    def entities(self, subgraph: str, type_name: str, block: int | None = None) -> list[dict]:
        """The entities visible at `block` (default: the head), in id order, as served."""
        table = self.table(subgraph, type_name)
        at = self.head_block if block is None else block
        rows = table.visible_rows(at)
        getters = [(f, table.served_getter(f)) for f in table.spec.field_names]
        id_of = table.getter("id")
        rows.sort(key=id_of)
        return [{name: get(r) for name, get in getters} for r in rows]

    # ---- recorded datasets --------------------------------------------------------

    def dump(self, out_dir: str | Path, block: int | None = None) -> Path:
        """Write `<out>/<subgraph>/<EntityType>.jsonl` for every non-empty type, and meta.json."""
        out = Path(out_dir)
        at = self.head_block if block is None else block
        for (subgraph, type_name), table in self.tables.items():
            if not table.n_rows:
                continue
            folder = out / subgraph
            folder.mkdir(parents=True, exist_ok=True)
            rows = self.entities(subgraph, type_name, at)
            with open(folder / f"{type_name}.jsonl", "wb") as fh:
                for row in rows:
                    fh.write(orjson.dumps(row) + b"\n")
        meta = {
            "head_block": at,
            "head_timestamp": self.block_timestamp(at),
            "genesis_block": self.chain.genesis_block,
            "genesis_timestamp": self.chain.genesis_time,
            "block_time": self.chain.block_time,
            "deployments": self.deployments(),
            "subgraphs": {s: {"name": n, "version": v} for s, (n, v) in SUBGRAPHS.items()},
            "generator": self.info,
        }
        if self.chain_logs is not None:
            meta["chain_head_block"] = self._dump_chain(out / "chain")
        self._dump_gamma(out / "gamma")
        (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        return out

    def _dump_chain(self, folder: Path) -> int:
        """`logs.jsonl`: every log up to the chain's head as `eth_getLogs` returns it;
        `blocks.jsonl`: the header of each block holding one, and of the head. Its head."""
        store = self.chain_logs
        assert store is not None
        head = store.head_block
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "logs.jsonl", "wb") as fh:
            for log in store.iter_logs(self.chain.genesis_block, head):
                fh.write(orjson.dumps(log) + b"\n")
        with open(folder / "blocks.jsonl", "wb") as fh:
            for number in [*store.blocks_between(self.chain.genesis_block, head - 1), head]:
                header = store.header(number)
                block = {k: header[k] for k in ("number", "hash", "parentHash", "timestamp")}
                fh.write(orjson.dumps(block) + b"\n")
        return head

    def _dump_gamma(self, folder: Path) -> None:
        """`markets.jsonl`, `events.jsonl`, `tags.jsonl`: every object as Gamma returns it
        (markets as `/markets/keyset?include_tag=true` lists them), late ones included."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in (
            ("markets", self.gamma.markets),
            ("events", self.gamma.events),
            ("tags", self.gamma.tags),
        ):
            with open(folder / f"{name}.jsonl", "wb") as fh:
                for row in rows:
                    fh.write(orjson.dumps(row) + b"\n")

    @staticmethod
    def _load_gamma(folder: Path) -> GammaCatalog | None:
        if not (folder / "markets.jsonl").exists():
            return None
        parts = []
        for name in ("markets", "events", "tags"):
            with open(folder / f"{name}.jsonl", "rb") as fh:
                parts.append([orjson.loads(line) for line in fh if line.strip()])
        return GammaCatalog(*parts)

    @classmethod
    def load(cls, in_dir: str | Path) -> Dataset:
        """A dumped folder. Mutable entities only have their dumped state (visible from
        genesis); the visibility block of timestamped events derives from their timestamp."""
        folder = Path(in_dir)
        meta = json.loads((folder / "meta.json").read_text())
        chain = Chain(meta["genesis_block"], meta["genesis_timestamp"], meta["block_time"])
        tables: dict[tuple[str, str], Table] = {}
        for subgraph in SUBGRAPHS:
            for type_name, spec in entity_specs(subgraph).items():
                path = folder / subgraph / f"{type_name}.jsonl"
                if not path.exists():
                    continue
                key = (subgraph, type_name)
                derived = order_filled_derived() if type_name == "OrderFilledEvent" else None
                stored = [f for f in spec.fields if not derived or f.name not in derived]
                columns: dict[str, list] = {f.name: [] for f in stored}
                with open(path, "rb") as fh:
                    for line in fh:
                        record = orjson.loads(line)
                        for f in stored:
                            columns[f.name].append(storage_value(f, record.get(f.name)))
                if "timestamp" in columns and key not in MUTABLE_TYPES:
                    vis = [chain.block_at(ts) for ts in columns["timestamp"]]
                else:
                    vis = [chain.genesis_block] * len(columns["id"])
                tables[key] = Table.build(
                    spec, columns, vis, mutable=key in MUTABLE_TYPES, derived=derived
                )
        chain_logs = None
        if (folder / "chain" / "logs.jsonl").exists():
            chain_logs = ChainLogStore(chain, head_block=meta["chain_head_block"])
            with open(folder / "chain" / "logs.jsonl", "rb") as fh:
                chain_logs.add_logs(orjson.loads(line) for line in fh if line.strip())
        return cls(
            chain,
            tables,
            meta["head_block"],
            meta.get("generator"),
            chain_logs,
            gamma=cls._load_gamma(folder / "gamma"),
        )
