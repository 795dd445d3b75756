"""Raw Polymarket assets: subgraph entities landed in the `raw` schema of the warehouse."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.resources import PipelineSettings, SubgraphsResource, WarehouseResource
from orchestration.lib import extract
from orchestration.lib.entities import (
    CONDITIONS,
    MARKET_DATA,
    MERGES,
    ORDER_FILLED_EVENTS,
    REDEMPTIONS,
    SPLITS,
    USER_POSITIONS,
    Entity,
)
from orchestration.lib.errors import RequestRejected

KINDS = {"polymarket", "graphql"}
POOL = "warehouse"  # see dagster.yaml: one warehouse step at a time
RETRY = dg.RetryPolicy(
    max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class ExtractConfig(dg.Config):
    """Run parameters of an event extraction."""

    start: str | None = None
    """Backfill from this date or epoch second (e.g. 2026-01-01) instead of the watermark."""
    full_refresh: bool = False
    """Ignore the watermark and any interrupted run; read from `start` or the first event."""
    lookback_seconds: int = 3600
    """Re-read this much before the watermark, for events indexed late with old timestamps."""
    workers: int = 4
    """Pages in flight at once, over disjoint time ranges."""


class RefreshConfig(dg.Config):
    full_refresh: bool = False
    """Rescan every entity instead of only those that can have changed."""


@contextmanager
def fail_at_once_on_rejection() -> Iterator[None]:
    """A request the source rejects for good (a mistyped URL or host, a 404, an invalid query)
    fails the step at once: the retry policy is for outages, not for configuration errors."""
    try:
        yield
    except RequestRejected as exc:
        # The message names the source, the URL and the reason; the stack of the HTTP
        # library below it tells an operator nothing more.
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def parse_start(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _event_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=entity.asset_key,
        group_name="polymarket",
        kinds=KINDS,
        description=entity.description,
        retry_policy=RETRY,
        pool=POOL,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: ExtractConfig,
        warehouse: WarehouseResource,
        subgraphs: SubgraphsResource,
    ) -> dg.MaterializeResult:
        client = subgraphs.client(entity.subgraph)
        with fail_at_once_on_rejection(), warehouse.connect() as wh:
            result = extract.extract_events(
                client,
                wh,
                entity,
                start=parse_start(config.start),
                lookback_seconds=config.lookback_seconds,
                full_refresh=config.full_refresh,
                workers=config.workers,
                progress=context.log.info,
                warn=context.log.warning,
            )
            total = wh.count(entity)
        return dg.MaterializeResult(
            metadata={**result.metadata(), "table_rows": total, "retries": client.retries}
        )

    return _asset


order_filled_events = _event_asset(ORDER_FILLED_EVENTS)
splits = _event_asset(SPLITS)
merges = _event_asset(MERGES)
redemptions = _event_asset(REDEMPTIONS)


def _reference_asset(entity: Entity, upstream: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=entity.asset_key,
        group_name="polymarket",
        kinds=KINDS,
        description=entity.description,
        deps=[upstream.asset_key],  # the ids to refresh are read from the upstream table
        retry_policy=RETRY,
        pool=POOL,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: RefreshConfig,
        warehouse: WarehouseResource,
        subgraphs: SubgraphsResource,
    ) -> dg.MaterializeResult:
        with fail_at_once_on_rejection(), warehouse.connect() as wh:
            result = extract.extract_reference(
                subgraphs.client(entity.subgraph),
                wh,
                entity,
                full_refresh=config.full_refresh,
                progress=context.log.info,
                warn=context.log.warning,
            )
            total = wh.count(entity)
        return dg.MaterializeResult(metadata={**result.metadata(), "table_rows": total})

    return _asset


market_data = _reference_asset(MARKET_DATA, upstream=ORDER_FILLED_EVENTS)
conditions = _reference_asset(CONDITIONS, upstream=MARKET_DATA)


@dg.asset(
    key=USER_POSITIONS.asset_key,
    group_name="polymarket",
    kinds=KINDS,
    deps=[ORDER_FILLED_EVENTS.asset_key],
    retry_policy=RETRY,
    pool=POOL,
)
def user_positions(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    subgraphs: SubgraphsResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """The pnl subgraph's positions of the followed wallets (top traders and wallets asked for)."""
    with fail_at_once_on_rejection(), warehouse.connect() as wh:
        wallets = extract.followed_wallets(
            wh,
            top=settings.follow_top_traders,
            extra=[w for w in settings.followed_wallets.split(",") if w.strip()],
            excluded=settings.excluded,
        )
        result = extract.extract_user_positions(
            subgraphs.client("pnl"),
            wh,
            wallets,
            progress=context.log.info,
            warn=context.log.warning,
        )
        total = wh.count(USER_POSITIONS)
    return dg.MaterializeResult(metadata={**result.metadata(), "table_rows": total})
