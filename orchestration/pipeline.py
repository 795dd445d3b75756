"""`make pipeline`: run one job once, headless, against whatever the environment points at.

Runs in-process on the Dagster instance of DAGSTER_HOME, so the run, its logs and its
materializations show in the UI afterwards; exits non-zero when the run fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import dagster as dg

DEFAULT_JOB = "full_sync_job"


def instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".polyboard/dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        template = "dagster.postgres.yaml" if os.environ.get("DAGSTER_PG_URL") else "dagster.yaml"
        source = Path(__file__).resolve().parent.parent / template
        (home / "dagster.yaml").write_text(source.read_text())
    return dg.DagsterInstance.get()


def run_job(name: str = DEFAULT_JOB, run_config: dict | None = None) -> bool:
    from orchestration.definitions import defs

    job = defs().resolve_job_def(name)
    with instance() as dagster_instance:
        result = job.execute_in_process(instance=dagster_instance, run_config=run_config or {})
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
