"""Smallest valid run records (``run.json`` fields without provenance) for tests that write run directories.

``record(n)`` names the run ``run-<n>`` so that a test can tell which of several writes it reads
back (:func:`run_number`).
"""

from __future__ import annotations

from typing import Any

DIAGNOSTICS = {"converged": True, "iterations": 3, "residual": 1e-12, "max_residual": 1e-12, "method": "test"}


def record(name: str | int = "test-run", **fields: Any) -> dict[str, Any]:
    """A valid run record for ``write_run``: scenario ``name`` (``run-<n>`` for an int), model, dataset, diagnostics."""
    return {
        "scenario": {"name": f"run-{name}" if isinstance(name, int) else name},
        "model": {"name": "multisector", "parameters": {}},
        "dataset": {"name": "test", "year": 2016, "hash": "0" * 64},
        "diagnostics": dict(DIAGNOSTICS),
        **fields,
    }


def run_number(meta: dict[str, Any]) -> int:
    """The ``n`` of a run written with ``record(n)``."""
    return int(meta["scenario"]["name"].removeprefix("run-"))
