"""One-off measurements of the generator at bench scale (slow: not part of `-m sim`)."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from subgraph_sim.generator import generate

pytestmark = pytest.mark.slow


def test_measure_bench_generation():
    started = time.perf_counter()
    rss_before = psutil.Process(os.getpid()).memory_info().rss
    dataset = generate("bench")
    elapsed = time.perf_counter() - started
    rss = psutil.Process(os.getpid()).memory_info().rss
    fills = dataset.table("orderbook", "OrderFilledEvent").n_rows
    print(
        f"\nbench preset: {fills} fills generated in {elapsed:.1f}s, "
        f"RSS {rss / 2**20:.0f} MiB (+{(rss - rss_before) / 2**20:.0f} MiB)"
    )
    assert fills == 1_000_000
