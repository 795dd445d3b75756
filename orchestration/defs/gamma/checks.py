"""Gamma's freshness check: the API answers and the metadata has been read recently."""

import time

import dagster as dg

from orchestration.defs.resources import GammaResource, PipelineSettings, WarehouseResource
from orchestration.lib.gamma import GammaError
from orchestration.lib.gamma_extract import CURSOR, missing_conditions
from orchestration.lib.gamma_tables import GAMMA_MARKETS


def gamma_verdict(
    gamma: GammaResource, max_lag_seconds: int, state: dict, missing: int, now: float | None = None
) -> dg.AssetCheckResult:
    """Fail when Gamma does not answer (naming it and its error) or when the last read of the
    metadata is older than `max_lag_seconds`; conditions without metadata are reported."""
    now = time.time() if now is None else now
    problems = []
    with gamma.client(timeout=10.0, max_attempts=2) as client:
        try:
            client.get("/markets/keyset", {"limit": 1, "closed": "false"})
        except GammaError as exc:
            problems.append(f"Gamma API {gamma.api_url} did not answer: {exc}")
    read_at = state.get("lookup_at")
    lag = int(now - read_at) if read_at is not None else None
    if lag is None:
        problems.append(f"Gamma metadata from {gamma.api_url} has never been read")
    elif lag > max_lag_seconds:
        problems.append(
            f"Gamma metadata from {gamma.api_url} was last read {lag} s ago "
            f"(max {max_lag_seconds} s)"
        )
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems)
        or f"Gamma API {gamma.api_url} answers; metadata read {lag} s ago",
        metadata={
            "gamma": gamma.api_url,
            "lag_seconds": lag if lag is not None else -1,
            "max_lag_seconds": max_lag_seconds,
            "conditions_without_metadata": missing,
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(GAMMA_MARKETS.asset_key),
    name="gamma_metadata_fresh",
    description="The Gamma API answers and market metadata was read within "
    "SOURCE_MAX_LAG_SECONDS; reports the conditions still without metadata.",
    blocking=False,
)
def gamma_metadata_fresh(
    gamma: GammaResource, settings: PipelineSettings, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.connect() as wh:
        state = wh.get_cursor(CURSOR) or {}
        missing = len(missing_conditions(wh))
    return gamma_verdict(gamma, settings.source_max_lag_seconds, state, missing)
