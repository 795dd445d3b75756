"""Market metadata from Gamma: its raw assets, job, schedules and freshness check."""

import dagster as dg

from orchestration.defs.gamma.assets import GROUP, gamma_raw_tables
from orchestration.defs.gamma.checks import gamma_metadata_fresh
from orchestration.defs.polymarket.jobs import serial
from orchestration.defs.polymarket.schedules import _interval_schedule

gamma_metadata_job = dg.define_asset_job(
    "gamma_metadata_job",
    selection=dg.AssetSelection.groups(GROUP),
    description="Market metadata from Gamma into raw tables (the marts pick it up on their "
    "next build).",
    tags=serial("gamma_metadata_job"),
)

gamma_lookup_schedule = _interval_schedule(
    "gamma_lookup_schedule",
    "gamma_metadata_job",
    "*/10 * * * *",
    "Every 10 minutes: metadata of the conditions seen in new fills and chain logs.",
)

gamma_full_refresh_schedule = _interval_schedule(
    "gamma_full_refresh_schedule",
    "gamma_metadata_job",
    "30 3 * * *",
    "Daily: every Gamma market, event and tag, for edits to markets already landed.",
    run_config={"ops": {"gamma_raw_tables": {"config": {"full_refresh": True}}}},
)


@dg.definitions
def gamma() -> dg.Definitions:
    return dg.Definitions(
        assets=[gamma_raw_tables],
        asset_checks=[gamma_metadata_fresh],
        jobs=[gamma_metadata_job],
        schedules=[gamma_lookup_schedule, gamma_full_refresh_schedule],
    )
