"""A small async client of the Dagster GraphQL API: launch a job, read a run, daemon health.

Jobs are addressed by (code location, repository, job). Code locations built with
`@dg.definitions` hold one unnamed repository, which Dagster names `__repository__`.
Launched runs stay QUEUED until `dagster-daemon` picks them up.
"""

from __future__ import annotations

from typing import Any

import httpx

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status jobName } }
    ... on PythonError { message }
    ... on Error { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId jobName status creationTime startTime endTime }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

WORKER_STATS = """
query WorkerStats {
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy lastHeartbeatTime }
    }
  }
  queued: runsOrError(filter: {statuses: [QUEUED]}) {
    __typename
    ... on Runs { count }
    ... on PythonError { message }
  }
  running: runsOrError(filter: {statuses: [STARTING, STARTED, CANCELING]}) {
    __typename
    ... on Runs { count }
    ... on PythonError { message }
  }
}
"""


class DagsterError(RuntimeError):
    """Dagster answered with an error (job not found, invalid config, Python error)."""


class DagsterUnavailable(RuntimeError):
    """The Dagster webserver cannot be reached or answered garbage."""


class RunNotFound(LookupError):
    pass


class DagsterClient:
    def __init__(self, url: str, location: str, repository: str, timeout: float = 10.0):
        self.url = url
        self.location = location
        self.repository = repository
        self.http = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self.http.post(
                self.url, json={"query": query, "variables": variables or {}}
            )
        except httpx.HTTPError as exc:
            raise DagsterUnavailable(f"Dagster at {self.url} unreachable: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise DagsterUnavailable(
                f"Dagster at {self.url} answered HTTP {response.status_code}, not JSON"
            ) from exc
        if body.get("errors"):
            messages = "; ".join(str(e.get("message")) for e in body["errors"])
            raise DagsterError(f"Dagster GraphQL errors: {messages}")
        if response.status_code >= 400 or "data" not in body:
            raise DagsterUnavailable(f"Dagster at {self.url} answered HTTP {response.status_code}")
        return body["data"]

    async def launch(self, job_name: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "selector": {
                "repositoryLocationName": self.location,
                "repositoryName": self.repository,
                "jobName": job_name,
            },
            "runConfigData": {},
        }
        if tags:
            params["executionMetadata"] = {
                "tags": [{"key": k, "value": v} for k, v in tags.items()]
            }
        data = await self._call(LAUNCH_RUN, {"executionParams": params})
        result = data["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterError(
                f"launching {job_name}: {result['__typename']}: {result.get('message', '')}"
            )
        return result["run"]

    async def run(self, run_id: str) -> dict[str, Any]:
        data = await self._call(RUN_STATUS, {"runId": run_id})
        result = data["runOrError"]
        if result["__typename"] == "RunNotFoundError":
            raise RunNotFound(run_id)
        if result["__typename"] != "Run":
            raise DagsterError(f"run {run_id}: {result.get('message', result['__typename'])}")
        return result

    async def worker_stats(self) -> dict[str, Any]:
        data = await self._call(WORKER_STATS)
        counts = {}
        for name in ("queued", "running"):
            result = data[name]
            if result["__typename"] != "Runs":
                raise DagsterError(f"counting {name} runs: {result.get('message')}")
            counts[name] = result["count"]
        daemons = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {"daemons": daemons, **counts}
