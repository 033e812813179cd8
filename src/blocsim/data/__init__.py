"""Data, the ground floor: validated gravity tables, public-source loaders, bundled datasets, elasticity
tables, content hashes, the DuckDB store and the run record it catalogues."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "GravityData": "blocsim.data.gravity",
    "Dataset": "blocsim.data.datasets",
    "load_dataset": "blocsim.data.datasets",
    "list_datasets": "blocsim.data.datasets",
    "build_dataset": "blocsim.data.user_datasets",
    "built_names": "blocsim.data.built_datasets",
    "list_built": "blocsim.data.built_datasets",
    "built_stamp": "blocsim.data.built_datasets",
    "Store": "blocsim.data.store",
    "get_elasticities": "blocsim.data.elasticities",
    "frame_hash": "blocsim.data.hashing",
    "file_hash": "blocsim.data.hashing",
    "read_run_record": "blocsim.data.run_record",
    "caliendo_parro_2015": "blocsim.data.caliendo_parro",
    "RunRecord": "blocsim.data.run_record",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
