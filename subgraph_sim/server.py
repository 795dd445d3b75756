"""The HTTP face of the simulator: graph-node's `/subgraphs/<name>/<version>/gn` endpoints.

Pages are answered on the event loop (each takes a few milliseconds); injected latency is an
`asyncio.sleep`, so concurrent pages overlap as they would against a remote endpoint.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from subgraph_sim.chain import BY_PATH_NAME, SUBGRAPHS, polygon_chain
from subgraph_sim.dataset import Dataset
from subgraph_sim.executor import QueryContext, SubgraphService, error_body
from subgraph_sim.faults import SimControl
from subgraph_sim.gamma import GammaFace
from subgraph_sim.logstore import ChainLogStore
from subgraph_sim.rpc import RpcFace
from subgraph_sim.rpc_control import RpcControl

HOST = "127.0.0.1"  # never exposed beyond this machine


def _json(body: bytes | dict, status: int = 200) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(data, status_code=status, media_type="application/json")


def create_app(dataset: Dataset, control: SimControl, rpc: RpcFace | None = None) -> Starlette:
    services = {name: SubgraphService(name, dataset) for name in SUBGRAPHS}

    def world_time() -> int:
        """Gamma lists what exists by the newest head served: the chain's in a world that
        has one, else the subgraphs'."""
        now = dataset.block_timestamp(control.served_head())
        if rpc is not None and dataset.chain_logs is not None:
            now = max(now, rpc.control.store.block_timestamp(rpc.control.head_block))
        return now

    gamma = GammaFace(dataset.gamma, control, world_time)

    async def graphql(request: Request) -> Response:
        subgraph = BY_PATH_NAME.get(request.path_params["name"])
        if subgraph is None or request.path_params["version"] != SUBGRAPHS[subgraph][1]:
            return _json({"message": "subgraph not found"}, 404)
        fault = control.admit(subgraph)
        if control.latency_ms:
            await asyncio.sleep(control.latency_ms / 1000)
        if fault is not None:
            return Response(
                fault.body, fault.status, headers=fault.headers, media_type=fault.media_type
            )
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _json(error_body("The request body is not valid JSON"), 400)
        ctx = QueryContext(control.served_head(), bool(control.has_indexing_errors))
        status, body = services[subgraph].execute(payload, ctx)
        return _json(body, status)

    async def control_endpoint(request: Request) -> Response:
        if request.method == "POST":
            try:
                control.update(orjson.loads(await request.body() or b"{}"))
            except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json(control.state())

    return Starlette(
        routes=[
            Route("/subgraphs/{name}/{version}/gn", graphql, methods=["POST"]),
            Route("/_sim/control", control_endpoint, methods=["GET", "POST"]),
            *(rpc.routes() if rpc is not None else []),
            *gamma.routes(),
        ]
    )


def subgraph_urls(port: int) -> dict[str, str]:
    return {
        short: f"http://{HOST}:{port}/subgraphs/{name}/{version}/gn"
        for short, (name, version) in SUBGRAPHS.items()
    }


def _announce(port: int) -> None:
    print(f"subgraph_sim ready on http://{HOST}:{port}", flush=True)
    for short, url in subgraph_urls(port).items():
        print(f"  {short:<9} {url}", flush=True)
    print(f"  {'rpc':<9} http://{HOST}:{port}/rpc", flush=True)
    print(f"  {'gamma':<9} http://{HOST}:{port}", flush=True)


def serve(
    dataset: Dataset,
    control: SimControl,
    *,
    port: int = 8030,
    idle_timeout: float | None = None,
    max_seconds: float | None = None,
    exit_with_parent: bool = False,
    on_ready: Callable[[int], None] = _announce,
    rpc: RpcFace | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, `idle_timeout` seconds without a request, or `max_seconds`.

    The JSON-RPC face serves `rpc`, or an empty chain when none is given.
    """
    rpc = rpc or RpcFace(RpcControl(ChainLogStore(polygon_chain())))
    config = uvicorn.Config(
        create_app(dataset, control, rpc),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    parent = os.getppid()

    async def watch() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        on_ready(server.servers[0].sockets[0].getsockname()[1])
        while not server.should_exit:
            await asyncio.sleep(0.2)
            now = control.clock()
            last_request = max(control.last_request, rpc.control.last_request)
            idle = idle_timeout is not None and now - last_request > idle_timeout
            expired = max_seconds is not None and now - control.started > max_seconds
            orphaned = exit_with_parent and os.getppid() != parent
            if idle or expired or orphaned:
                reason = "idle" if idle else "max-seconds" if expired else "parent exited"
                print(f"subgraph_sim stopping: {reason}", file=sys.stderr, flush=True)
                server.should_exit = True

    async def main() -> None:
        watcher = asyncio.create_task(watch())
        try:
            await server.serve()
        finally:
            watcher.cancel()

    asyncio.run(main())
