"""`make pipeline`: run one job once, headless, against whatever the environment points at.

Runs in-process on the Dagster instance of DAGSTER_HOME, so the run, its logs and its
materializations show in the UI afterwards; exits non-zero when the run fails, after a short
summary of what failed and why (the full log, tracebacks included, stays with the run).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import dagster as dg

DEFAULT_JOB = "full_sync_job"
# Dagster wraps what a step raised in its own error; the step's exception is its cause.
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}


def instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".polyboard/dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        template = "dagster.postgres.yaml" if os.environ.get("DAGSTER_PG_URL") else "dagster.yaml"
        source = Path(__file__).resolve().parent.parent / template
        (home / "dagster.yaml").write_text(source.read_text())
    return dg.DagsterInstance.get()


def failure_summary(job: dg.JobDefinition, result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step, with the reason it gave; then how many steps did not run."""
    lines, started = [], set()
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_START:
            started.add(event.step_key)
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        error = event.step_failure_data.error
        while error is not None and error.cls_name in _WRAPPERS and error.cause is not None:
            error = error.cause
        reason = (error.message.strip().splitlines() or [""])[0] if error else "unknown error"
        # "dagster._core.definitions.events.Failure: <description>" -> "<description>"
        qualified, _, rest = reason.partition(": ")
        if error and rest and qualified.rsplit(".", 1)[-1] == error.cls_name:
            reason = rest
        lines.append(f"  {event.step_key}: {reason}")
    not_run = {node.name for node in job.nodes} - started
    if not_run:
        lines.append(f"  {len(not_run)} later steps did not run ({', '.join(sorted(not_run))})")
    return lines


def run_job(name: str = DEFAULT_JOB, run_config: dict | None = None) -> bool:
    from orchestration.definitions import defs

    job = defs().resolve_job_def(name)
    with instance() as dagster_instance:
        result = job.execute_in_process(
            instance=dagster_instance, run_config=run_config or {}, raise_on_error=False
        )
        if not result.success:
            print(f"\n{name} FAILED (run {result.run_id}):", flush=True)
            print("\n".join(failure_summary(job, result)), flush=True)
            print(
                f"Full log with tracebacks: the run {result.run_id} in the Dagster UI "
                f"(DAGSTER_HOME={dagster_instance.root_directory})",
                flush=True,
            )
    return result.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", default=DEFAULT_JOB, help=f"job to run (default {DEFAULT_JOB})")
    args = parser.parse_args(argv)
    ok = run_job(args.job)
    print(f"{args.job}: {'succeeded' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
