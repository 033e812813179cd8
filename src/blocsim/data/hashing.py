"""Content hashes: what identifies a table or a file in the store and in a run's provenance."""

from __future__ import annotations

import hashlib
import os

import pandas as pd


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values and column names (order-sensitive), hex."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
