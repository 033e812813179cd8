"""Write docs/run-record.schema.json, the JSON schema of run.json (blocsim.RunRecord).

Usage (from the repository root): ``PYTHONPATH=src python docs/run_record_schema.py``.
tests/test_run_record.py checks that the committed file equals ``RunRecord.model_json_schema()``.
"""

from __future__ import annotations

import json
from pathlib import Path

from blocsim import RunRecord

SCHEMA_PATH = Path(__file__).resolve().parent / "run-record.schema.json"


def schema_text() -> str:
    """The schema as the committed file holds it (indented, sorted keys, final newline)."""
    return json.dumps(RunRecord.model_json_schema(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
