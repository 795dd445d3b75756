"""Where the steering folder's `shared/` is: real source data the tests read but do not copy.

A clone has `shared/` beside it (`../shared`); a worktree nested deeper finds it further up.
`POLYBOARD_SHARED_DIR` names it explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_path(*parts: str) -> Path:
    """A file under shared/; the test fails, naming what it looked for, when it is missing."""
    explicit = os.environ.get("POLYBOARD_SHARED_DIR")
    candidates = [Path(explicit)] if explicit else [d / "shared" for d in REPO_ROOT.parents]
    for base in candidates:
        if (base / Path(*parts)).is_file():
            return base / Path(*parts)
    pytest.fail(
        f"shared/{'/'.join(parts)} not found (looked in {', '.join(map(str, candidates))}; "
        "set POLYBOARD_SHARED_DIR)"
    )
