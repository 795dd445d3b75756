"""`make pipeline` as an operator meets it when something is misconfigured, and `make instance`."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.operate.test_demo import REPO_ROOT, embedded_env

pytestmark = [pytest.mark.operate]


def test_a_mistyped_url_fails_fast_with_a_short_summary(sim_tiny, tmp_path):
    env = embedded_env(tmp_path, sim_tiny)
    env["SUBGRAPH_ORDERBOOK_URL"] = "htp://127.0.0.1:9/gn"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "orchestration.pipeline"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    # Before: eight client attempts, then four step attempts 15 s+ apart, then a traceback.
    assert elapsed < 90, f"took {elapsed:.0f} s to fail"
    summary = run.stdout[run.stdout.index("full_sync_job FAILED") :]
    lines = summary.strip().splitlines()
    assert lines[-1] == "full_sync_job: FAILED"
    assert (
        "  polymarket__order_filled_events: orderbook-subgraph: 'htp://127.0.0.1:9/gn' "
        "is not a valid http(s) URL"
    ) in lines
    assert any("later steps did not run" in line for line in lines)
    assert any(line.startswith("Full log with tracebacks: the run ") for line in lines)
    assert len(lines) < 15, summary


def test_make_instance_keeps_an_operators_dagster_yaml(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    own = "# the operator's own instance\ntelemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own)
    make = ["make", "--no-print-directory", "instance", f"DAGSTER_HOME={home}"]
    subprocess.run(make, cwd=REPO_ROOT, check=True, capture_output=True)
    assert (home / "dagster.yaml").read_text() == own

    fresh = tmp_path / "fresh"
    make[-1] = f"DAGSTER_HOME={fresh}"
    subprocess.run(make, cwd=REPO_ROOT, check=True, capture_output=True)
    assert (fresh / "dagster.yaml").read_text() == (REPO_ROOT / "dagster.yaml").read_text()
