"""R6: admin endpoints need the bearer token (401 without or wrong, 403 when none is
configured), compared in constant time, never logged; and the Dagster GraphQL client
against a real `dagster-webserver`."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from apitest_support import ROOT, LiveServer, free_port, settings_for

import api.deps
from subgraph_sim.process import start_sim

TOKEN = "s3cret-admin-token-for-tests-0123456789"
ADMIN = "/api/v1/admin"
RUN_ID = "7c710609-e0e3-411e-ae9d-d77674e2dd20"
ENDPOINTS = [
    ("post", f"{ADMIN}/trigger-trader-fetch"),
    ("post", f"{ADMIN}/trigger-stats-update"),
    ("post", f"{ADMIN}/trigger-leaderboard-calc"),
    ("post", f"{ADMIN}/trigger-full-sync"),
    ("get", f"{ADMIN}/task-status/{RUN_ID}"),
    ("get", f"{ADMIN}/worker-stats"),
]
TRIGGERS = {
    "trigger-trader-fetch": "fetch_traders_job",
    "trigger-stats-update": "update_stats_job",
    "trigger-leaderboard-calc": "leaderboard_job",
    "trigger-full-sync": "full_sync_job",
}


def call(client: httpx.Client, method: str, path: str, token: str | None = None, scheme="Bearer"):
    headers = {"Authorization": f"{scheme} {token}".strip()} if token is not None else {}
    return client.request(method.upper(), path, headers=headers)


def test_admin_disabled_without_a_configured_token(request):
    settings = settings_for("duckdb", request, admin_api_token=None)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        for method, path in ENDPOINTS:
            for token in (None, TOKEN, ""):
                response = call(client, method, path, token)
                assert response.status_code == 403, (path, token)
                assert "ADMIN_API_TOKEN" in response.json()["detail"]


def test_admin_rejects_missing_and_wrong_tokens(request, monkeypatch, caplog):
    dead_dagster = f"http://127.0.0.1:{free_port()}/graphql"
    settings = settings_for(
        "duckdb", request, admin_api_token=TOKEN, dagster_graphql_url=dead_dagster
    )
    compared = []
    real_compare = api.deps.hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real_compare(a, b)

    monkeypatch.setattr(api.deps.hmac, "compare_digest", spy)
    caplog.set_level(logging.DEBUG)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        for method, path in ENDPOINTS:
            for token, scheme in [
                (None, "Bearer"),
                ("", "Bearer"),
                ("wrong", "Bearer"),
                (TOKEN + "x", "Bearer"),
                (TOKEN[:-1], "Bearer"),
                (TOKEN, "Basic"),
            ]:
                response = call(client, method, path, token, scheme)
                assert response.status_code == 401, (path, token, scheme)
                assert response.headers["www-authenticate"] == "Bearer"
            # The right token passes authentication; the unreachable Dagster is a 502.
            response = call(client, method, path, TOKEN)
            assert response.status_code == 502, (path, response.text)
            assert "unreachable" in response.json()["detail"]
            assert TOKEN not in response.text
        response = call(client, "get", f"{ADMIN}/task-status/not-a-run-id", TOKEN)
        assert response.status_code == 422
    assert compared, "tokens must be compared with hmac.compare_digest"
    assert all(a and b == len(TOKEN) for a, b in compared)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Each in a session of its own, so the whole process tree stops with one killpg.
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture(scope="module")
def dagster_stack(tmp_path_factory):
    """dagster-webserver and dagster-daemon on the workspace, fed by the local subgraph."""
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    with start_sim("tiny") as sim:
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        for name in ("DAGSTER_PG_URL", "DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            DUCKDB_PATH=str(home / "warehouse.duckdb"),
            SNAPSHOT_DIR=str(home / "snapshot"),
            **{f"SUBGRAPH_{s.upper()}_URL": sim.url(s) for s in ("orderbook", "pnl", "activity")},
        )
        bin_dir = Path(sys.executable).parent
        workspace = ["-w", str(ROOT / "workspace.yaml")]
        webserver = _spawn(
            [str(bin_dir / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)],
            env,
            home / "webserver.log",
        )
        daemon = None
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if webserver.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("dagster-webserver did not start: " + _tail(home / "webserver.log"))
                time.sleep(0.5)
            _pause_automation(f"{url}/graphql")
            daemon = _spawn(
                [str(bin_dir / "dagster-daemon"), "run", *workspace], env, home / "daemon.log"
            )
            yield f"{url}/graphql", home
        finally:
            if daemon is not None:
                _stop(daemon)
            _stop(webserver)


REPOSITORY = {"repositoryLocationName": "polyboard", "repositoryName": "__repository__"}


def _pause_automation(graphql_url: str) -> None:
    """Stop every schedule and sensor before the daemon starts, as an operator can in the UI.

    This test is about the runs the admin endpoints launch; the automation would queue runs of
    its own ahead of them (covered by the operate tests).
    """

    def gql(query: str, **variables) -> dict:
        body = httpx.post(graphql_url, json={"query": query, "variables": variables}, timeout=60)
        return body.json()["data"]

    sensors = gql(
        "query($r: RepositorySelector!) { sensorsOrError(repositorySelector: $r) "
        "{ ... on Sensors { results { id name } } } }",
        r=REPOSITORY,
    )["sensorsOrError"]["results"]
    schedules = gql(
        "query($r: RepositorySelector!) { schedulesOrError(repositorySelector: $r) "
        "{ ... on Schedules { results { id name } } } }",
        r=REPOSITORY,
    )["schedulesOrError"]["results"]
    assert sensors and schedules
    for sensor in sensors:
        gql("mutation($id: String) { stopSensor(id: $id) { __typename } }", id=sensor["id"])
    for schedule in schedules:
        gql(
            "mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
            id=schedule["id"],
        )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _jobs(graphql_url: str) -> set[str]:
    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
    data = httpx.post(graphql_url, json={"query": query}, timeout=60).json()["data"]
    return {job["name"] for node in data["repositoriesOrError"]["nodes"] for job in node["jobs"]}


TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.mark.slow
def test_triggers_run_dagster_jobs_to_success(request, dagster_stack):
    """Each trigger launches its job; the daemon runs it; task-status follows it to SUCCESS."""
    graphql_url, home = dagster_stack
    assert set(TRIGGERS.values()) <= _jobs(graphql_url)
    settings = settings_for(
        "duckdb",
        request,
        admin_api_token=TOKEN,
        dagster_graphql_url=graphql_url,
        dagster_timeout_seconds=120,  # a first launch loads the job; slow on a busy machine
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with (
        LiveServer(settings) as server,
        httpx.Client(base_url=server.url, headers=auth, timeout=150) as client,
    ):
        launched = {}
        # In this order the fetch lands the raw tables the dbt jobs read (the warehouse pool
        # lets one run at a time touch it, in queue order).
        for endpoint, job in TRIGGERS.items():
            response = client.post(f"{ADMIN}/{endpoint}")
            assert response.status_code == 202, response.text
            body = response.json()
            assert body["job_name"] == job and body["status"] in {"QUEUED", "NOT_STARTED"}
            launched[body["task_id"]] = job

        seen: dict[str, set[str]] = {task_id: set() for task_id in launched}
        deadline = time.monotonic() + 600
        while True:
            statuses = {}
            for task_id, job in launched.items():
                status = client.get(f"{ADMIN}/task-status/{task_id}").json()
                assert status["task_id"] == task_id and status["job_name"] == job
                seen[task_id].add(status["status"])
                statuses[task_id] = status["status"]
            if set(statuses.values()) <= TERMINAL:
                break
            assert time.monotonic() < deadline, (statuses, _tail(home / "daemon.log"))
            time.sleep(1)
        assert all(s == "SUCCESS" for s in statuses.values()), (
            statuses,
            _tail(home / "daemon.log"),
        )
        # task-status followed each run from the queue to its end
        assert all(len(states) >= 2 for states in seen.values()), seen

        missing = client.get(f"{ADMIN}/task-status/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        stats = client.get(f"{ADMIN}/worker-stats").json()
        types = {d["daemon_type"] for d in stats["daemons"] if d["healthy"]}
        assert {"QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR"} <= types, stats
