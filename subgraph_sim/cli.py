"""`python -m subgraph_sim serve|dump`: run the local subgraph or record a dataset."""

from __future__ import annotations

import argparse
import sys
import time

from subgraph_sim.chain import POLYGON_REFERENCE_BLOCK
from subgraph_sim.dataset import Dataset
from subgraph_sim.faults import FAULT_MODES, SimControl
from subgraph_sim.generator import PRESETS, generate
from subgraph_sim.rpc import RpcFace
from subgraph_sim.rpc_control import RpcControl
from subgraph_sim.synthetic_logs import build_store

# Live data needs trades beyond the initial head; six hours of them unless told otherwise.
LIVE_FUTURE_SECONDS = 6 * 3600


def _generator_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", choices=sorted(PRESETS), default="tiny", help="generator preset")
    g.add_argument("--seed", type=int)
    g.add_argument("--fills", type=int, help="OrderFilledEvents to generate (two per trade)")
    g.add_argument("--traders", type=int)
    g.add_argument("--markets", type=int)
    g.add_argument("--days", type=float)
    g.add_argument("--end-time", type=int, help="unix time of the head block")
    g.add_argument("--burst", type=int, help="extra fills sharing one timestamp")
    g.add_argument("--late-fraction", type=float)
    g.add_argument("--late-delay-blocks", type=int)
    g.add_argument("--oversell-fraction", type=float)
    g.add_argument("--future-seconds", type=int, help="events generated beyond the head")
    g.add_argument(
        "--v2-days", type=float, help="days of V2 era after the cutover (end time = cutover)"
    )


def _overrides(args: argparse.Namespace) -> dict:
    names = [
        "seed",
        "fills",
        "traders",
        "markets",
        "days",
        "end_time",
        "burst",
        "late_fraction",
        "late_delay_blocks",
        "oversell_fraction",
        "future_seconds",
        "v2_days",
    ]
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m subgraph_sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the three subgraphs on 127.0.0.1")
    _generator_args(serve)
    serve.add_argument("--dataset-dir", help="serve a dumped folder instead of generating")
    serve.add_argument("--port", type=int, default=8030, help="0 picks a free port")
    f = serve.add_argument_group("faults and freshness (also settable via POST /_sim/control)")
    f.add_argument("--latency-ms", type=float, default=0.0)
    f.add_argument("--fault-rate", type=float, default=0.0)
    f.add_argument(
        "--fault-modes", default=",".join(FAULT_MODES), help=f"subset of {','.join(FAULT_MODES)}"
    )
    f.add_argument("--fault-seed", type=int, default=0)
    f.add_argument("--gamma-fault-rate", type=float, default=0.0, help="faults of Gamma alone")
    f.add_argument("--meta-lag-blocks", type=int, default=0)
    f.add_argument("--has-indexing-errors", action="store_true")
    f.add_argument("--rate-limit-rps", type=float)
    f.add_argument("--head-block", type=int)
    f.add_argument(
        "--live", action="store_true", help="the head follows the wall clock; head time is now"
    )
    c = serve.add_argument_group("the JSON-RPC face at /rpc (settings: POST /_sim/rpc)")
    c.add_argument("--chain-logs", help="comma-separated files of logs (receipt, array, lines)")
    c.add_argument("--chain-synthetic-logs", type=int, default=0, help="random logs to add")
    c.add_argument("--chain-first-block", type=int, default=POLYGON_REFERENCE_BLOCK - 10_000)
    c.add_argument("--chain-blocks", type=int, default=20_000, help="blocks the random logs span")
    c.add_argument("--chain-skew", type=float, default=1.0, help=">1 crowds early blocks")
    c.add_argument("--chain-seed", type=int, default=0)
    c.add_argument("--rpc-head-block", type=int, help="default: the newest block with a log")
    c.add_argument("--rpc-latency-ms", type=float, default=0.0)
    b = serve.add_argument_group("lifetime")
    b.add_argument("--idle-timeout", type=float, help="exit after this many seconds unqueried")
    b.add_argument("--max-seconds", type=float, help="exit after this many seconds")
    b.add_argument("--exit-with-parent", action="store_true", help="exit when the parent dies")

    dump = commands.add_parser("dump", help="write a dataset as JSON lines")
    _generator_args(dump)
    dump.add_argument("--out", required=True)
    dump.add_argument("--block", type=int, help="state as of this block (default: the head)")
    return parser


def _dataset(args: argparse.Namespace) -> Dataset:
    if getattr(args, "dataset_dir", None):
        return Dataset.load(args.dataset_dir)
    overrides = _overrides(args)
    if getattr(args, "live", False):
        if not _crossing(args):
            # A crossing world's end time is the cutover: its chain, not its subgraphs, lives.
            overrides.setdefault("end_time", int(time.time()))
        overrides.setdefault("future_seconds", LIVE_FUTURE_SECONDS)
    return generate(args.dataset, **overrides)


def _crossing(args: argparse.Namespace) -> bool:
    v2_days = args.v2_days if args.v2_days is not None else PRESETS[args.dataset].get("v2_days")
    return bool(v2_days)


def _rpc_face(args: argparse.Namespace, dataset: Dataset) -> RpcFace:
    """The world's own chain when it has one, plus any recorded or random logs asked for."""
    store = build_store(
        [path for path in (args.chain_logs or "").split(",") if path],
        args.chain_synthetic_logs,
        first_block=args.chain_first_block,
        blocks=args.chain_blocks,
        skew=args.chain_skew,
        seed=args.chain_seed,
        head_block=args.rpc_head_block,
        store=dataset.chain_logs,
    )
    live = args.live and dataset.chain_logs is not None
    return RpcFace(
        RpcControl(store, latency_ms=args.rpc_latency_ms, head_block=args.rpc_head_block, live=live)
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    dataset = _dataset(args)
    elapsed = time.perf_counter() - started
    print(f"subgraph_sim dataset ready in {elapsed:.1f}s", file=sys.stderr, flush=True)
    if args.command == "dump":
        out = dataset.dump(args.out, args.block)
        print(f"dumped to {out}", flush=True)
        return 0

    from subgraph_sim.server import serve

    control = SimControl(
        dataset,
        fault_rate=args.fault_rate,
        fault_modes=[m for m in args.fault_modes.split(",") if m],
        fault_seed=args.fault_seed,
        latency_ms=args.latency_ms,
        meta_lag_blocks=args.meta_lag_blocks,
        gamma_fault_rate=args.gamma_fault_rate,
        has_indexing_errors=args.has_indexing_errors,
        rate_limit_rps=args.rate_limit_rps,
        head_block=args.head_block,
        # A world with its own chain keeps its subgraphs frozen at the cutover, as they were.
        live=args.live and dataset.chain_logs is None,
    )
    serve(
        dataset,
        control,
        port=args.port,
        idle_timeout=args.idle_timeout,
        max_seconds=args.max_seconds,
        exit_with_parent=args.exit_with_parent,
        rpc=_rpc_face(args, dataset),
    )
    return 0
