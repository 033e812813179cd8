"""Run directories: result tables and the run record, written atomically (write_run) and read back (read_run)."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "write_run": "blocsim.results.rundir",
    "read_run": "blocsim.results.rundir",
    "provenance": "blocsim.results.rundir",
    "frame_hash": "blocsim.data.hashing",
    "file_hash": "blocsim.data.hashing",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
