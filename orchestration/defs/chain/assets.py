"""Raw chain assets: V2 fills and CTF conditions read from Polygon logs into the `raw` schema."""

import dagster as dg

from orchestration.defs.polymarket.assets import POOL, RETRY, fail_at_once_on_rejection
from orchestration.defs.resources import ChainResource, WarehouseResource
from orchestration.lib.chain_extract import extract_chain
from orchestration.lib.chain_tables import CHAIN_TABLES

KINDS = {"polymarket", "polygon"}
GROUP = "chain"


class ChainExtractConfig(dg.Config):
    """Run parameters of a chain extraction."""

    workers: int = 4
    """`eth_getLogs` ranges in flight at once."""


def build_chain_assets() -> dg.AssetsDefinition:
    """The multi-asset that lands every chain table in one read of the logs."""

    @dg.multi_asset(
        name="chain_raw_tables",
        specs=[
            dg.AssetSpec(table.asset_key, description=table.description, kinds=KINDS)
            for table in CHAIN_TABLES
        ],
        group_name=GROUP,
        retry_policy=RETRY,
        pool=POOL,
    )
    def chain_raw_tables(
        context: dg.AssetExecutionContext,
        config: ChainExtractConfig,
        warehouse: WarehouseResource,
        chain: ChainResource,
    ):
        """V2 exchange fills, conditions, adapter operations and transfers, and block hashes."""
        client = chain.client()
        with fail_at_once_on_rejection(), client, warehouse.connect() as wh:
            result = extract_chain(
                client,
                wh,
                start_block=chain.start_block,
                confirmations=chain.confirmations,
                max_block_range=chain.max_block_range,
                reorg_window=chain.window,
                workers=config.workers,
                adapters=chain.adapters,
                progress=context.log.info,
                warn=context.log.warning,
            )
            totals = {t.table: wh.count(t) for t in CHAIN_TABLES}
        shared = {**result.metadata(), "rpc": client.endpoint, "retries": client.retries}
        for table in CHAIN_TABLES:
            yield dg.MaterializeResult(
                asset_key=table.asset_key,
                metadata={
                    **shared,
                    "rows_loaded": result.rows[table.table],
                    "table_rows": totals[table.table],
                },
            )

    return chain_raw_tables
