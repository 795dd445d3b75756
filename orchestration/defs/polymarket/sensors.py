"""What keeps the marts fresh between the schedules: source heads and declarative automation.

A new fill reaches the API in two hops: `source_head_sensor` notices that a subgraph's head
block moved and requests `fetch_traders_job`, which lands the raw tables, builds the dbt models
and publishes the marts in one run; the API picks the new publication up within about a second.
`automation_sensor` evaluates the eager automation conditions of the models and the
publication (`AutomationCondition.eager()`), so what a manual materialization or a backfill
lands is followed the same way. The 5-minute `fetch_traders_schedule` stays as the fallback
for when the sensor is stopped or `_meta` cannot be read.
"""

from __future__ import annotations

import json

import dagster as dg

from orchestration.defs.polymarket.jobs import WAREHOUSE_WRITER
from orchestration.defs.polymarket.schedules import busy
from orchestration.defs.resources import SubgraphsResource
from orchestration.lib.subgraph import SubgraphClient, SubgraphError

FETCH_JOB = "fetch_traders_job"
# The subgraphs whose new blocks can carry new fills or activity; pnl positions have their
# own schedule (sync_positions_job).
WATCHED = ("orderbook", "activity")
SOURCE_HEAD_INTERVAL_SECONDS = 15
AUTOMATION_INTERVAL_SECONDS = 15


def read_heads(subgraphs: SubgraphsResource) -> tuple[dict[str, int], dict[str, str]]:
    """The head block of every watched subgraph, and the error of any that did not answer.

    A sensor tick has a time limit, so `_meta` gets a short timeout and a single retry here;
    a source that keeps failing is reported by its freshness check, not by this sensor.
    """
    heads: dict[str, int] = {}
    errors: dict[str, str] = {}
    for subgraph in WATCHED:
        client = SubgraphClient(
            f"{subgraph}-subgraph",
            subgraphs.url(subgraph),
            api_key=subgraphs.api_key or None,
            timeout=10.0,
            max_attempts=2,
        )
        try:
            heads[subgraph] = client.meta().block_number
        except (SubgraphError, OSError) as exc:
            errors[subgraph] = str(exc)
    return heads, errors


def moved(previous: dict[str, int], heads: dict[str, int]) -> list[str]:
    """The subgraphs whose head is past the block recorded when the last fetch was requested."""
    return [name for name, block in heads.items() if block > previous.get(name, -1)]


def parse_cursor(cursor: str | None) -> dict[str, int]:
    try:
        value = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


@dg.sensor(
    name="source_head_sensor",
    job_name=FETCH_JOB,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SOURCE_HEAD_INTERVAL_SECONDS,
    description=(
        "Requests fetch_traders_job when the orderbook or activity subgraph has a new head "
        "block (checked every 15 s), so new fills do not wait for the 5-minute schedule."
    ),
)
def source_head_sensor(context: dg.SensorEvaluationContext, subgraphs: SubgraphsResource):
    previous = parse_cursor(context.cursor)
    if busy(context.instance, FETCH_JOB):
        # The cursor is kept as it is: the blocks past it are fetched by the next run. No run
        # is queued behind one in flight: while a fetch is queued, the assets it will build
        # are not yet "in progress" to the automation, which would build them in a run of its
        # own as soon as the fetch in flight lands its raw tables.
        return dg.SkipReason(f"a {FETCH_JOB} run is in flight")
    heads, errors = read_heads(subgraphs)
    if not heads:
        detail = "; ".join(f"{name}: {error}" for name, error in errors.items())
        return dg.SkipReason(f"no source head could be read ({detail})")
    for name, error in errors.items():
        context.log.warning(f"{name} subgraph _meta failed: {error}")
    advanced = moved(previous, heads)
    if not advanced:
        return dg.SkipReason(f"no new block since the last fetch ({json.dumps(heads)})")
    context.update_cursor(json.dumps({**previous, **heads}, sort_keys=True))
    blocks = ", ".join(f"{name} {previous.get(name, '-')} -> {heads[name]}" for name in advanced)
    return dg.RunRequest(tags={"polyboard/trigger": "source_head", "polyboard/heads": blocks})


# The sensor Dagster would create on its own (default_automation_condition_sensor) starts
# stopped; this one covers the same assets, starts running and ticks more often, so the marts
# and their publication follow a fetch within seconds.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
    description="Evaluates the eager automation of the dbt models and the API publication.",
    run_tags=WAREHOUSE_WRITER,
)
