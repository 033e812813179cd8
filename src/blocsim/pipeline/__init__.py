"""The pipeline: scenario -> shock -> model -> results, for one run, a batch of draws or a sweep.

The one floor that joins the stages below it (each of them knows nothing of the ones after it).

Public names (imported lazily):

- :func:`run_scenario`, :class:`ScenarioResult` -- one scenario file, end to end, into a run directory;
- :func:`run_config` -- a ``blocsim ge`` file (PPML + one-sector GE);
- :func:`monte_carlo`, :func:`scenario_bands`, :class:`MonteCarloResult` -- uncertainty bands over draws;
- :func:`sweep` -- any function over many inputs, in process or on Dask.
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "run_scenario": "blocsim.pipeline.scenario_run",
    "ScenarioResult": "blocsim.pipeline.scenario_run",
    "resolve_theta": "blocsim.pipeline.scenario_run",
    "run_config": "blocsim.pipeline.ge_run",
    "monte_carlo": "blocsim.pipeline.uncertainty",
    "scenario_bands": "blocsim.pipeline.bands",
    "MonteCarloResult": "blocsim.pipeline.uncertainty",
    "sweep": "blocsim.pipeline.distributed",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
