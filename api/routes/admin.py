"""Admin endpoints: launch the pipeline's Dagster jobs and watch them.

The seed's Celery tasks are Dagster jobs here; a task id is a Dagster run id. Every call
needs `Authorization: Bearer <ADMIN_API_TOKEN>`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from api.dagster import DagsterError, DagsterUnavailable, RunNotFound
from api.deps import AdminDep, StateDep
from api.models import (
    DaemonStatusPublic,
    ErrorPublic,
    TaskLaunchedPublic,
    TaskStatusPublic,
    WorkerStatsPublic,
)
from api.routes import API_PREFIX

router = APIRouter(
    prefix=f"{API_PREFIX}/admin",
    tags=["admin"],
    dependencies=[AdminDep],
    responses={
        401: {"model": ErrorPublic, "description": "Missing or wrong bearer token."},
        403: {"model": ErrorPublic, "description": "Admin disabled: ADMIN_API_TOKEN unset."},
        502: {"model": ErrorPublic, "description": "Dagster unreachable or refused the call."},
    },
)

RUN_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _upstream(exc: Exception) -> HTTPException:
    return HTTPException(502, str(exc))


async def _launch(state, job_name: str) -> TaskLaunchedPublic:
    try:
        run = await state.dagster.launch(job_name, tags={"polyboard/trigger": "api"})
    except (DagsterError, DagsterUnavailable) as exc:
        raise _upstream(exc) from exc
    return TaskLaunchedPublic(task_id=run["runId"], job_name=job_name, status=run["status"])


@router.post(
    "/trigger-trader-fetch",
    response_model=TaskLaunchedPublic,
    status_code=202,
    summary="Launch fetch_traders_job",
)
async def trigger_trader_fetch(state: StateDep) -> TaskLaunchedPublic:
    """Trades, activity and reference entities from the subgraphs into the raw tables."""
    return await _launch(state, "fetch_traders_job")


@router.post(
    "/trigger-stats-update",
    response_model=TaskLaunchedPublic,
    status_code=202,
    summary="Launch update_stats_job",
)
async def trigger_stats_update(state: StateDep) -> TaskLaunchedPublic:
    """The dbt models up to trader_stats."""
    return await _launch(state, "update_stats_job")


@router.post(
    "/trigger-leaderboard-calc",
    response_model=TaskLaunchedPublic,
    status_code=202,
    summary="Launch leaderboard_job",
)
async def trigger_leaderboard_calc(state: StateDep) -> TaskLaunchedPublic:
    """The dbt models traders_v2 and leaderboard."""
    return await _launch(state, "leaderboard_job")


@router.post(
    "/trigger-full-sync",
    response_model=TaskLaunchedPublic,
    status_code=202,
    summary="Launch full_sync_job",
)
async def trigger_full_sync(state: StateDep) -> TaskLaunchedPublic:
    """Everything: extraction, then every dbt model, then the publication."""
    return await _launch(state, "full_sync_job")


@router.get(
    "/task-status/{task_id}",
    response_model=TaskStatusPublic,
    summary="Status of a launched run",
    responses={404: {"model": ErrorPublic, "description": "No such run."}},
)
async def task_status(
    state: StateDep,
    task_id: Annotated[
        str, Path(pattern=RUN_ID_PATTERN, description="A run id returned by a trigger (UUID).")
    ],
) -> TaskStatusPublic:
    try:
        run = await state.dagster.run(task_id.lower())
    except RunNotFound as exc:
        raise HTTPException(404, f"no Dagster run {task_id}") from exc
    except (DagsterError, DagsterUnavailable) as exc:
        raise _upstream(exc) from exc
    return TaskStatusPublic(
        task_id=run["runId"],
        job_name=run.get("jobName"),
        status=run["status"],
        created_at=run.get("creationTime"),
        started_at=run.get("startTime"),
        ended_at=run.get("endTime"),
    )


@router.get(
    "/worker-stats",
    response_model=WorkerStatsPublic,
    summary="Dagster daemon health and run queue",
)
async def worker_stats(state: StateDep) -> WorkerStatsPublic:
    """Whether the daemons that launch queued runs are alive, and how many runs wait or run."""
    try:
        stats = await state.dagster.worker_stats()
    except (DagsterError, DagsterUnavailable) as exc:
        raise _upstream(exc) from exc
    daemons = [
        DaemonStatusPublic(
            daemon_type=d["daemonType"],
            required=d["required"],
            healthy=d.get("healthy"),
            last_heartbeat_at=d.get("lastHeartbeatTime"),
        )
        for d in stats["daemons"]
    ]
    return WorkerStatsPublic(
        daemons=daemons,
        all_healthy=all(d.healthy for d in daemons if d.required),
        queued_runs=stats["queued"],
        running_runs=stats["running"],
    )
