"""Jobs spanning every group."""

import dagster as dg

from orchestration.defs.polymarket.jobs import serial

full_sync_job = dg.define_asset_job(
    "full_sync_job",
    selection=dg.AssetSelection.all(),
    description="Everything: extraction into raw tables, then every dbt model.",
    tags=serial("full_sync_job"),
)
