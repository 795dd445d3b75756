"""Raw Gamma assets: market metadata (markets, their events and tags) in the `raw` schema."""

import dagster as dg

from orchestration.defs.polymarket.assets import POOL, fail_at_once_on_rejection
from orchestration.defs.resources import GammaResource, WarehouseResource
from orchestration.lib.chain_tables import CHAIN_CONDITION_PREPARATIONS
from orchestration.lib.entities import CONDITIONS, MARKET_DATA
from orchestration.lib.gamma import GammaError
from orchestration.lib.gamma_extract import full_refresh, lookup_missing
from orchestration.lib.gamma_tables import GAMMA_TABLES

KINDS = {"polymarket"}
GROUP = "gamma"
# The conditions a lookup asks Gamma for are those these tables know (MISSING_CONDITIONS): a
# run that lands them reads the metadata after them, so one full sync names every market.
KNOWN_CONDITIONS = [
    dg.AssetKey(MARKET_DATA.asset_key),
    dg.AssetKey(CONDITIONS.asset_key),
    dg.AssetKey(CHAIN_CONDITION_PREPARATIONS.asset_key),
]


class GammaExtractConfig(dg.Config):
    """Run parameters of a Gamma read."""

    full_refresh: bool = False
    """Page every market, event and tag (slow) instead of looking up the conditions the
    warehouse has no metadata for."""


@dg.multi_asset(
    name="gamma_raw_tables",
    specs=[
        dg.AssetSpec(
            table.asset_key, description=table.description, kinds=KINDS, deps=KNOWN_CONDITIONS
        )
        for table in GAMMA_TABLES
    ],
    group_name=GROUP,
    pool=POOL,
)
def gamma_raw_tables(
    context: dg.AssetExecutionContext,
    config: GammaExtractConfig,
    warehouse: WarehouseResource,
    gamma: GammaResource,
):
    """Gamma markets, events and tags: the conditions seen without metadata, or everything."""
    # Metadata is not money: an outage of Gamma must not hold back the marts built after this
    # step, so it ends the read without failing the run. `gamma_metadata_fresh` fails instead
    # and says so. A rejected request (a wrong GAMMA_API_URL) fails the step at once.
    outage = None
    with fail_at_once_on_rejection(), gamma.client() as client, warehouse.connect() as wh:
        read = full_refresh if config.full_refresh else lookup_missing
        try:
            result = read(client, wh, progress=context.log.info)
        except GammaError as exc:
            outage = str(exc)
            context.log.warning(f"Gamma metadata delayed: {outage}")
            result = None
        totals = {t.table: int(wh.fetchone(f"select count(*) from raw.{t.table}")[0])
                  for t in GAMMA_TABLES}  # fmt: skip
    shared = {
        "gamma": gamma.api_url,
        "mode": "full refresh" if config.full_refresh else "lookup",
        "retries": client.retries,
        **(result.metadata() if result is not None else {}),
        **({"outage": outage} if outage else {}),
    }
    for table in GAMMA_TABLES:
        yield dg.MaterializeResult(
            asset_key=table.asset_key,
            metadata={
                **shared,
                "rows_loaded": result.rows[table.table] if result is not None else 0,
                "table_rows": totals[table.table],
            },
        )
