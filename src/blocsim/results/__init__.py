"""Run directories: result tables and the run record, written atomically (write_run) and read back (read_run)."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "write_run": "blocsim.results.rundir",
    "read_run": "blocsim.results.rundir",
    "provenance": "blocsim.results.rundir",
    "frame_hash": "blocsim.data.hashing",
    "file_hash": "blocsim.data.hashing",
    "register_run_files": "blocsim.results.marker",
    "write_file_atomic": "blocsim.results.journal",
    "write_files": "blocsim.results.journal",
    "compare_runs": "blocsim.results.compare",
    "RunComparison": "blocsim.results.compare",
    "COMPARISON_FILES": "blocsim.results.compare",
    "BAND_STATISTICS": "blocsim.results.compare",
    "check_targets": "blocsim.results.output",
    "export_run": "blocsim.results.export",
    "describe_column": "blocsim.results.columns",
    "import_shares": "blocsim.results.expost",
    "expost_errors": "blocsim.results.expost",
    "expost_table": "blocsim.results.expost",
    "expost_summary": "blocsim.results.expost",
    "with_tariff_sources": "blocsim.results.tariff_sources",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
