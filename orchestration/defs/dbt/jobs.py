"""Transformation jobs (the seed's stats and leaderboard tasks, as Dagster jobs)."""

import dagster as dg
from dagster_dbt import build_dbt_asset_selection

from orchestration.defs.dbt.assets import polyboard_dbt_models
from orchestration.defs.polymarket.jobs import serial

PUBLICATION = dg.AssetSelection.assets(dg.AssetKey(["api", "marts_publication"]))

update_stats_job = dg.define_asset_job(
    "update_stats_job",
    selection=build_dbt_asset_selection([polyboard_dbt_models], dbt_select="+trader_stats")
    | PUBLICATION,
    description="dbt up to trader_stats (the daily chart data), then publish.",
    tags=serial("update_stats_job"),
)

leaderboard_job = dg.define_asset_job(
    "leaderboard_job",
    selection=build_dbt_asset_selection(
        [polyboard_dbt_models], dbt_select="+traders_v2 +leaderboard +trader_categories"
    )
    | PUBLICATION,
    description="dbt traders_v2, the leaderboard and its categories, then publish.",
    tags=serial("leaderboard_job"),
)
