"""Shared fixtures. Servers started here are stopped when the session ends."""

from __future__ import annotations

import pytest

from subgraph_sim.process import SimProcess, start_sim


@pytest.fixture(scope="session")
def sim_tiny() -> SimProcess:
    """The local subgraph serving the `tiny` preset (seed 1) on a free port."""
    with start_sim("tiny") as sim:
        yield sim
