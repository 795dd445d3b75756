"""Helpers of the API tests: marts built by the real pipeline, and the API on a real socket."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

from api.config import Settings
from api.main import create_app
from orchestration.lib.entities import ENTITIES
from orchestration.lib.gamma_tables import rows_of_events, rows_of_markets
from orchestration.lib.warehouse import connect_warehouse

REDIS_TEST_URL = os.environ.get("POLYBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"


def load_raw(dataset, database_url: str | None, duckdb_path: str | None) -> None:
    """Land every entity of the dataset in the raw tables, as the extraction does."""
    with connect_warehouse(database_url, duckdb_path) as warehouse:
        warehouse.ensure_raw_schema()
        for entity in ENTITIES:
            rows = dataset.entities(entity.subgraph, entity.graphql_type)
            warehouse.upsert(entity, rows, dataset.head_block)
        # Gamma's metadata as the lookup lands it: what the world lists at its head.
        now = dataset.block_timestamp(dataset.head_block)
        warehouse.load_gamma(rows_of_markets(dataset.gamma.visible_markets(now)))
        warehouse.load_gamma(rows_of_events(dataset.gamma.visible_events(now)))


def dbt_build_marts(database_url: str | None, duckdb_path: str | None, workdir: Path) -> None:
    """`dbt run` of the real project against the warehouse (its own target and log folders)."""
    if not (DBT_PROJECT / "dbt_project.yml").exists():
        import pytest

        pytest.skip("the dbt project is not in this checkout: no marts to serve")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if database_url:
        url = urlsplit(database_url)
        env.update(
            POLYBOARD_DBT_TARGET="postgres",
            POLYBOARD_PG_HOST=url.hostname or "127.0.0.1",
            POLYBOARD_PG_PORT=str(url.port or 5432),
            POLYBOARD_PG_USER=url.username or "postgres",
            POLYBOARD_PG_PASSWORD=url.password or "",
            POLYBOARD_PG_DBNAME=url.path.lstrip("/"),
        )
    else:
        env.update(POLYBOARD_DBT_TARGET="duckdb", DUCKDB_PATH=str(duckdb_path))
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [
            str(dbt),
            "run",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


def settings_for(kind: str, request, **overrides) -> Settings:
    # A warehouse given by the test replaces the shared one, which is then not built at all.
    if kind == "postgres":
        given = overrides.get("database_url")
        base = {"database_url": given or request.getfixturevalue("pg_warehouse")}
    else:
        given = overrides.get("snapshot_dir")
        base = {"snapshot_dir": given or str(request.getfixturevalue("duckdb_snapshot"))}
    fields = {
        "redis_url": None,
        "admin_api_token": None,
        "snapshot_poll_seconds": 0.2,
        **base,
        **overrides,
    }
    return Settings(_env_file=None, **fields)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The app under uvicorn on 127.0.0.1 in a thread: real HTTP, real lifespan."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="api-server")

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    @property
    def state(self):
        return self.app.state.polyboard


class ServerProcess:
    """The API as its own process (`uvicorn api.main:app`), configured by its environment.

    For what is process-wide and cannot be varied inside the test process, such as the time
    zone (`TZ`). Only `env` configures it: no Settings variable of the test process leaks in,
    and it runs in `workdir`, so no `.env` file is read. Listens on 127.0.0.1, stopped by PID.
    """

    def __init__(self, env: dict[str, str], workdir: Path):
        settings_names = {name.upper() for name in Settings.model_fields}
        self.env = {k: v for k, v in os.environ.items() if k.upper() not in settings_names}
        self.env.update(env)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"api-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--app-dir",
            str(ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the API process did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    def _healthy(self) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text output (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class TcpProxy:
    """127.0.0.1:<port> forwarded to a real server. `down()` closes the port and drops every
    connection, as a database host that goes away; `up()` serves the same port again."""

    def __init__(self, target_host: str, target_port: int):
        import asyncio

        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = None
        self._writers: set = set()

    def _run(self, coro):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer) -> None:
        import asyncio

        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer)
        )
        self._writers -= {client_writer, server_writer}

    async def _up(self) -> None:
        import asyncio

        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _down(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    def up(self) -> None:
        self._run(self._up())

    def down(self) -> None:
        self._run(self._down())

    def close(self) -> None:
        if self._server is not None:
            self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
