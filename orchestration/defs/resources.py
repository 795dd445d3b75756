"""Resources of the code location, bound to environment variables in this one place."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt.project import dbt_project
from orchestration.lib.addresses import (
    DEFAULT_COLLATERAL_ADAPTERS,
    DEFAULT_EXCLUDED_ADDRESSES,
    parse_addresses,
)
from orchestration.lib.chain import ChainClient
from orchestration.lib.chain_extract import (
    DEFAULT_CONFIRMATIONS,
    DEFAULT_MAX_BLOCK_RANGE,
    DEFAULT_START_BLOCK,
    REORG_WINDOW_FACTOR,
)
from orchestration.lib.gamma import DEFAULT_GAMMA_API_URL, GammaClient
from orchestration.lib.publish import DEFAULT_SNAPSHOT_ROOT
from orchestration.lib.subgraph import SubgraphClient
from orchestration.lib.warehouse import DEFAULT_DUCKDB_PATH, Warehouse, connect_warehouse

GOLDSKY = "https://api.goldsky.com/api/public/project_cl6mb8i9h0003e201j6li0diw/subgraphs"
DEFAULT_URLS = {
    "orderbook": f"{GOLDSKY}/orderbook-subgraph/0.0.1/gn",
    "pnl": f"{GOLDSKY}/pnl-subgraph/0.0.14/gn",
    "activity": f"{GOLDSKY}/activity-subgraph/0.0.4/gn",
}


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL when `database_url` is set, the embedded DuckDB file otherwise."""

    database_url: str | None = None
    duckdb_path: str = DEFAULT_DUCKDB_PATH

    def connect(self) -> Warehouse:
        warehouse = connect_warehouse(self.database_url or None, self.duckdb_path)
        warehouse.ensure_raw_schema()
        return warehouse


class SubgraphsResource(dg.ConfigurableResource):
    """The graph-node endpoints: Goldsky, The Graph's gateway, or the local subgraph."""

    orderbook_url: str = DEFAULT_URLS["orderbook"]
    pnl_url: str = DEFAULT_URLS["pnl"]
    activity_url: str = DEFAULT_URLS["activity"]
    api_key: str | None = None
    timeout_seconds: float = 30.0
    max_attempts: int = 8

    def url(self, subgraph: str) -> str:
        return {
            "orderbook": self.orderbook_url,
            "pnl": self.pnl_url,
            "activity": self.activity_url,
        }[subgraph]

    def client(self, subgraph: str) -> SubgraphClient:
        return SubgraphClient(
            f"{subgraph}-subgraph",
            self.url(subgraph),
            api_key=self.api_key or None,
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
        )


class ChainResource(dg.ConfigurableResource):
    """The Polygon JSON-RPC endpoint of the V2-era chain source, and how far it is read."""

    rpc_url: str | None = None
    api_key: str | None = None  # sent as a bearer token, never logged
    start_block: int = DEFAULT_START_BLOCK
    confirmations: int = DEFAULT_CONFIRMATIONS
    max_block_range: int = DEFAULT_MAX_BLOCK_RANGE
    reorg_window: int | None = None  # blocks re-checked for a reorg; 4 x confirmations
    # the collateral adapters whose operations are read, comma-separated
    collateral_adapters: str = ",".join(DEFAULT_COLLATERAL_ADAPTERS)
    timeout_seconds: float = 30.0
    max_attempts: int = 8

    @property
    def window(self) -> int:
        return self.reorg_window or REORG_WINDOW_FACTOR * self.confirmations

    @property
    def adapters(self) -> tuple[str, ...]:
        return parse_addresses(self.collateral_adapters)

    def client(self, **overrides) -> ChainClient:
        if not self.rpc_url:
            raise dg.Failure("POLYGON_RPC_URL is not set: the chain source is off")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts}
        return ChainClient(self.rpc_url, api_key=self.api_key or None, **{**options, **overrides})


class GammaResource(dg.ConfigurableResource):
    """Polymarket's Gamma API (market metadata)."""

    api_url: str = DEFAULT_GAMMA_API_URL
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    min_interval_seconds: float = 0.1  # 10 requests a second: a third of Gamma's /markets limit

    def client(self, **overrides) -> GammaClient:
        options = {
            "timeout": self.timeout_seconds,
            "max_attempts": self.max_attempts,
            "min_interval": self.min_interval_seconds,
        }
        return GammaClient(self.api_url, **{**options, **overrides})


class PipelineSettings(dg.ConfigurableResource):
    """Knobs shared by extraction, checks and the marts."""

    excluded_addresses: str = ",".join(DEFAULT_EXCLUDED_ADDRESSES)
    source_max_lag_seconds: int = 3600
    follow_top_traders: int = 50
    followed_wallets: str = ""
    min_trader_trades: int = 10
    min_trader_volume: float = 100.0

    @property
    def excluded(self) -> tuple[str, ...]:
        return parse_addresses(self.excluded_addresses)


class PublicationSettings(dg.ConfigurableResource):
    """Where the Parquet snapshots the API reads in embedded mode are published."""

    snapshot_dir: str = DEFAULT_SNAPSHOT_ROOT


def _env(name: str, default: str | None = None):
    """An `EnvVar` when the variable is set (read at run time), the default otherwise."""
    return dg.EnvVar(name) if os.environ.get(name) else default


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                database_url=_env("DATABASE_URL"),
                duckdb_path=_env("DUCKDB_PATH", DEFAULT_DUCKDB_PATH),
            ),
            "subgraphs": SubgraphsResource(
                orderbook_url=_env("SUBGRAPH_ORDERBOOK_URL", DEFAULT_URLS["orderbook"]),
                pnl_url=_env("SUBGRAPH_PNL_URL", DEFAULT_URLS["pnl"]),
                activity_url=_env("SUBGRAPH_ACTIVITY_URL", DEFAULT_URLS["activity"]),
                api_key=_env("GRAPH_API_KEY"),
            ),
            "settings": PipelineSettings(
                excluded_addresses=_env("EXCLUDED_ADDRESSES", ",".join(DEFAULT_EXCLUDED_ADDRESSES)),
                source_max_lag_seconds=_env_int("SOURCE_MAX_LAG_SECONDS", 3600),
                min_trader_trades=_env_int("MIN_TRADER_TRADES", 10),
                min_trader_volume=_env_float("MIN_TRADER_VOLUME", 100.0),
            ),
            "chain": ChainResource(
                rpc_url=_env("POLYGON_RPC_URL"),
                api_key=_env("POLYGON_RPC_KEY"),
                start_block=_env_int("CHAIN_START_BLOCK", DEFAULT_START_BLOCK),
                confirmations=_env_int("CHAIN_CONFIRMATIONS", DEFAULT_CONFIRMATIONS),
                max_block_range=_env_int("CHAIN_MAX_BLOCK_RANGE", DEFAULT_MAX_BLOCK_RANGE),
                reorg_window=_env_int("CHAIN_REORG_WINDOW", None),
                collateral_adapters=_env(
                    "CHAIN_COLLATERAL_ADAPTERS", ",".join(DEFAULT_COLLATERAL_ADAPTERS)
                ),
            ),
            "gamma": GammaResource(api_url=_env("GAMMA_API_URL", DEFAULT_GAMMA_API_URL)),
            "dbt": DbtCliResource(project_dir=dbt_project),
            "publication": PublicationSettings(
                snapshot_dir=_env("SNAPSHOT_DIR", DEFAULT_SNAPSHOT_ROOT)
            ),
        }
    )


def _env_int(name: str, default: int):
    return dg.EnvVar.int(name) if os.environ.get(name) else default


def _env_float(name: str, default: float):
    return dg.EnvVar.float(name) if os.environ.get(name) else default
