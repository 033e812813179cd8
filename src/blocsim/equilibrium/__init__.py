"""Equilibrium models: one-sector GE, multi-sector GE with tariffs, tariff-line PE."""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "solve_ge": "blocsim.equilibrium.onesector",
    "GEResult": "blocsim.equilibrium.results",
    "SolverOptions": "blocsim.equilibrium.options",
    "solve_multisector": "blocsim.equilibrium.multisector",
    "MultiSectorResult": "blocsim.equilibrium.multisector",
    "solve_multisector_batch": "blocsim.equilibrium.multisector_batch",
    "MultiSectorBatchResult": "blocsim.equilibrium.multisector_batch",
    "multisector_problem": "blocsim.equilibrium.multisector_inputs",
    "MultiSectorProblem": "blocsim.equilibrium.multisector_inputs",
    "DutyPool": "blocsim.equilibrium.duty_pool",
    "solve_pe": "blocsim.equilibrium.pe",
    "purge_deficits": "blocsim.equilibrium.deficits",
    "caliendo_parro_decomposition": "blocsim.equilibrium.cp_decomposition",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
