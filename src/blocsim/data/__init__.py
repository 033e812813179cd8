"""Data: validated gravity tables, public-source loaders, bundled datasets, the DuckDB store."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "GravityData": "blocsim.data.gravity",
    "Dataset": "blocsim.data.datasets",
    "load_dataset": "blocsim.data.datasets",
    "list_datasets": "blocsim.data.datasets",
    "Store": "blocsim.data.store",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
