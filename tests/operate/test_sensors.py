"""source_head_sensor and the automation sensor, evaluated against the local subgraph."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.defs.polymarket.sensors import (
    automation_sensor,
    moved,
    parse_cursor,
    source_head_sensor,
)
from orchestration.defs.resources import SubgraphsResource

pytestmark = pytest.mark.operate


@pytest.fixture
def subgraphs(sim_tiny) -> SubgraphsResource:
    return SubgraphsResource(
        orderbook_url=sim_tiny.url("orderbook"),
        pnl_url=sim_tiny.url("pnl"),
        activity_url=sim_tiny.url("activity"),
        max_attempts=2,
    )


def _evaluate(instance, subgraphs, cursor=None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"subgraphs": subgraphs}
    )
    result = source_head_sensor.evaluate_tick(context)
    return result, context.cursor


def test_a_new_head_requests_a_fetch_and_records_the_blocks(subgraphs, sim_tiny):
    with dg.instance_for_test() as instance:
        result, cursor = _evaluate(instance, subgraphs)
        assert [r.job_name or "fetch_traders_job" for r in result.run_requests] == [
            "fetch_traders_job"
        ]
        heads = json.loads(cursor)
        assert set(heads) == {"orderbook", "activity"}
        assert heads["orderbook"] == sim_tiny.state()["head_block"]

        # Same heads: nothing to fetch, the cursor stays.
        result, again = _evaluate(instance, subgraphs, cursor)
        assert not result.run_requests and result.skip_message
        assert json.loads(again) == heads

        # One source moved on: fetch again.
        behind = json.dumps({**heads, "activity": heads["activity"] - 1})
        result, after = _evaluate(instance, subgraphs, behind)
        assert len(result.run_requests) == 1
        assert json.loads(after) == heads


def test_skips_while_a_fetch_is_in_flight(subgraphs):
    with dg.instance_for_test() as instance:
        instance.add_run(
            dg.DagsterRun(job_name="fetch_traders_job", status=dg.DagsterRunStatus.STARTED)
        )
        result, cursor = _evaluate(instance, subgraphs, json.dumps({"orderbook": 0}))
        assert not result.run_requests
        assert "in flight" in result.skip_message
        assert json.loads(cursor) == {"orderbook": 0}


def test_an_unreachable_source_is_a_skip_that_names_it():
    down = SubgraphsResource(
        orderbook_url="http://127.0.0.1:9/gn", activity_url="http://127.0.0.1:9/gn"
    )
    with dg.instance_for_test() as instance:
        result, _ = _evaluate(instance, down)
        assert not result.run_requests
        assert "orderbook" in result.skip_message


def test_cursor_helpers():
    assert parse_cursor(None) == {} and parse_cursor("not json") == {}
    assert moved({"orderbook": 5}, {"orderbook": 6, "activity": 1}) == ["orderbook", "activity"]
    assert moved({"orderbook": 6}, {"orderbook": 6}) == []


def test_sensors_and_schedules_start_running():
    from orchestration.definitions import defs

    definitions = defs()
    sensor = definitions.resolve_sensor_def("source_head_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds <= 30
    assert automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert automation_sensor.minimum_interval_seconds <= 30
    # The automation sensor covers every asset, so Dagster adds no stopped default sensor.
    names = {s.name for s in definitions.sensors}
    assert "default_automation_condition_sensor" not in names
    fallback = definitions.resolve_schedule_def("fetch_traders_schedule")
    assert fallback.default_status == dg.DefaultScheduleStatus.RUNNING
