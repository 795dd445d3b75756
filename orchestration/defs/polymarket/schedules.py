"""When extraction runs: the seed's task schedule as Dagster schedules and sensors."""

import os

import dagster as dg

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def every(seconds: int) -> str:
    """A cron string for an interval, at cron's one-minute resolution."""
    minutes = max(1, round(seconds / 60))
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


def busy(instance: dg.DagsterInstance, job_name: str) -> bool:
    filters = dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT)
    return instance.get_runs_count(filters) > 0


def _interval_schedule(name: str, job_name: str, cron: str, description: str, run_config=None):
    @dg.schedule(
        name=name,
        job_name=job_name,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        # A run still going is not queued behind: the next tick picks up where it ends.
        if busy(context.instance, job_name):
            return dg.SkipReason(f"a {job_name} run is still in flight")
        return dg.RunRequest(run_config=run_config or {})

    return _schedule


fetch_traders_schedule = _interval_schedule(
    "fetch_traders_schedule",
    "fetch_traders_job",
    every(int(os.environ.get("TRADER_FETCH_INTERVAL") or 300)),
    "New trades and activity every TRADER_FETCH_INTERVAL seconds (default 5 minutes).",
)

sync_positions_schedule = _interval_schedule(
    "sync_positions_schedule",
    "sync_positions_job",
    every(600),
    "Positions of the top traders and followed wallets every 10 minutes.",
)

reference_refresh_schedule = _interval_schedule(
    "reference_refresh_schedule",
    "refresh_reference_job",
    "0 */6 * * *",
    "A full rescan of tokens and conditions every 6 hours, behind the incremental refreshes.",
    run_config={
        "ops": {
            "polymarket__market_data": {"config": {"full_refresh": True}},
            "polymarket__conditions": {"config": {"full_refresh": True}},
        }
    },
)


@dg.sensor(
    job_name="full_sync_job",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="The first start of the platform queues one full sync.",
)
def initial_sync_sensor(context: dg.SensorEvaluationContext):
    if context.instance.get_runs_count(dg.RunsFilter(job_name="full_sync_job")) > 0:
        return dg.SkipReason("a full sync has run before")
    # The run key makes this fire once per instance, however often the sensor ticks.
    return dg.RunRequest(run_key="initial-full-sync")
