"""Test helper: wait for a dashboard job through the JSON API."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient


def wait(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll a job until it has finished; return its final status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] in ("succeeded", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
