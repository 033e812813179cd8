"""Policy states -> model inputs: per (exporter, importer, sector) tariffs, cost factors, duty pools."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "Shock": "blocsim.shock.compile",
    "compile_shock": "blocsim.shock.compile",
    "record_reroutes": "blocsim.shock.leakage",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
