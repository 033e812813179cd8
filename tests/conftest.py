"""Shared fixtures.

``shared_data`` points at ``../shared/data`` beside the repository (real public data used
as references). When it is absent, tests that need it are skipped, unless the environment
sets ``BLOCSIM_REQUIRE_SHARED=1`` (CI does), in which case they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BLOCSIM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data``; skips (or fails under BLOCSIM_REQUIRE_SHARED=1) if missing."""
    if not SHARED_DATA.is_dir():
        message = f"shared data not found at {SHARED_DATA} (set BLOCSIM_SHARED_DATA)"
        if os.environ.get("BLOCSIM_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA
