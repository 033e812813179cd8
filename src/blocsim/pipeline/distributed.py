"""Run independent tasks serially or on Dask distributed, with one code path.

Monte Carlo chunks and scenario sweeps are lists of independent tasks. ``scheduler`` picks
where they run:

- ``None``: in this process, one after the other (no Dask import);
- ``"local"``: a light :class:`distributed.LocalCluster` started for the call and closed
  afterwards (threads in this process, ``processes=False``; 2 workers x 1 thread by default);
- ``"processes"``: a LocalCluster of 2 worker processes (tasks and inputs must pickle);
- an address such as ``"tcp://10.0.0.5:8786"``: an existing cluster's scheduler;
- a :class:`distributed.Client`: used as is and left open.

Results come back in task order whatever the completion order, so a task list built the
same way gives identical numbers on every scheduler.

Progress: :func:`map_tasks` and :func:`sweep` take ``progress(done, total)``
(:mod:`blocsim.data.progress`): called with ``done = 0`` before the first task, then after each
finished task with the work done so far (on Dask in completion order, via
``distributed.as_completed``), the last call with ``done == total``; always in the calling process.

Examples
--------
>>> from blocsim.pipeline import sweep
>>> sweep(pow, [(2, 3), (3, 2)], scheduler=None, star=True)
[8, 9]
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from blocsim.data.progress import ProgressCallback
from blocsim.errors import DataValidationError

Scheduler = Any  # None | "local" | "processes" | address string | distributed.Client
_LOCAL = ("local", "processes")
DEFAULT_WORKERS = 2
"""Workers of a LocalCluster started for a call (``scheduler="local"`` or ``"processes"``)."""


def _check_scheduler(scheduler: Scheduler) -> None:
    if scheduler is None or isinstance(scheduler, str):
        if isinstance(scheduler, str) and scheduler not in _LOCAL and "://" not in scheduler \
                and ":" not in scheduler:
            raise DataValidationError(
                f"argument 'scheduler': got {scheduler!r}; allowed: None (in process), 'local', 'processes', "
                "a scheduler address like 'tcp://host:8786', or a distributed.Client. Fix: pass scheduler='local'."
            )
        return
    if not hasattr(scheduler, "submit") or not hasattr(scheduler, "gather"):
        raise DataValidationError(
            f"argument 'scheduler': got {type(scheduler).__name__}; allowed: None, 'local', 'processes', an "
            "address string or a distributed.Client. Fix: pass scheduler='local'."
        )


def _workers(scheduler: Scheduler, n_workers: int | None) -> int:
    """Workers of the LocalCluster to start; ``n_workers`` is an error where no cluster is started."""
    if n_workers is None:
        return DEFAULT_WORKERS
    if scheduler not in _LOCAL:
        raise DataValidationError(
            f"argument 'n_workers': got {n_workers!r} with scheduler={scheduler!r}; it sizes a LocalCluster started "
            "for the call, so it applies only to scheduler='local' or 'processes'. Fix: drop n_workers or use one "
            "of those."
        )
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise DataValidationError(f"argument 'n_workers': got {n_workers!r}; allowed: an integer >= 1, e.g. 2.")
    return n_workers


@contextlib.contextmanager
def dask_client(scheduler: Scheduler, *, n_workers: int | None = None) -> Iterator[Any]:
    """Yield a :class:`distributed.Client` for ``scheduler`` (see module notes); close what it opened.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``"local"``, ``"processes"``, a scheduler address or a client.
    n_workers : int, optional
        Workers of a LocalCluster started here (1 thread each; default 2); only with
        ``"local"`` or ``"processes"``.
    """
    _check_scheduler(scheduler)
    if scheduler is None:
        raise DataValidationError("argument 'scheduler': got None; a Dask client needs 'local', 'processes', an "
                                  "address or a distributed.Client.")
    workers = _workers(scheduler, n_workers)
    from distributed import Client, LocalCluster

    if not isinstance(scheduler, str):
        yield scheduler
        return
    if scheduler in _LOCAL:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=scheduler == "processes",
            dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},  # no dashboard, free port
            silence_logs=40,
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()


def map_tasks(
    func: Callable[..., Any],
    shared: Any,
    task_args: Sequence[tuple[Any, ...]],
    *,
    scheduler: Scheduler = None,
    n_workers: int | None = None,
    progress: ProgressCallback | None = None,
    units: Sequence[int] | None = None,
) -> list[Any]:
    """Evaluate ``func(shared, *args)`` for every ``args`` in ``task_args``, in order.

    ``shared`` (e.g. a Monte Carlo problem with its arrays) is sent to the workers once
    (``Client.scatter(..., broadcast=True)``); each task carries only its small arguments.

    Parameters
    ----------
    func : callable
        Top-level (picklable) function.
    shared : object
        First argument of every call.
    task_args : sequence of tuple
        Remaining arguments per task.
    scheduler : None, str or distributed.Client
        Where to run (see module notes).
    n_workers : int, optional
        Workers of a LocalCluster started here (default 2); only with ``"local"`` or ``"processes"``.
    progress : callable, optional
        ``progress(done, total)`` with ``done`` the units of the finished tasks (see module notes).
    units : sequence of int, optional
        Units of work of each task for ``progress`` (e.g. the draws of a Monte Carlo chunk);
        default 1 per task, so ``total`` is the number of tasks.

    Returns
    -------
    list
        ``[func(shared, *args) for args in task_args]``.
    """
    _check_scheduler(scheduler)
    _workers(scheduler, n_workers)
    weights = _units(units, len(task_args))
    total = sum(weights)
    if not total:  # no task: nothing to report
        progress = None
    if progress is not None:
        progress(0, total)
    if scheduler is None:
        results: list[Any] = []
        done = 0
        for args, weight in zip(task_args, weights):
            results.append(func(shared, *args))
            done += weight
            if progress is not None:
                progress(done, total)
        return results
    with dask_client(scheduler, n_workers=n_workers) as client:
        shared_future = client.scatter(shared, broadcast=True)
        futures = [client.submit(func, shared_future, *args, pure=False) for args in task_args]
        if progress is not None:
            _report_completion(futures, weights, total, progress)
        return list(client.gather(futures))


def _units(units: Sequence[int] | None, tasks: int) -> list[int]:
    """Units of work per task (1 each by default); a list of another length is an error."""
    if units is None:
        return [1] * tasks
    weights = list(units)
    bad = [w for w in weights if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1]
    if len(weights) != tasks or bad:
        raise DataValidationError(f"argument 'units': got {units!r}; allowed: one integer >= 1 per task "
                                  f"({tasks} tasks), e.g. the draws of each chunk.")
    return [int(w) for w in weights]


def _report_completion(futures: Sequence[Any], weights: Sequence[int], total: int,
                       progress: ProgressCallback) -> None:
    """Call ``progress`` as Dask futures finish (completion order); stop at a failed task (gather raises it)."""
    from distributed import as_completed

    weight = {future.key: w for future, w in zip(futures, weights)}
    done = 0
    for future in as_completed(futures):
        if future.status != "finished":
            return
        done += weight[future.key]
        progress(done, total)


def _call_star(func: Callable[..., Any], item: Any) -> Any:
    return func(*item)


def _call_one(func: Callable[..., Any], item: Any) -> Any:
    return func(item)


def sweep(
    func: Callable[..., Any],
    items: Sequence[Any],
    *,
    scheduler: Scheduler = None,
    star: bool = False,
    n_workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> list[Any]:
    """Scenario sweep: ``[func(item) for item in items]`` serially or on Dask, in order.

    Parameters
    ----------
    func : callable
        Top-level function, e.g. ``blocsim.run_scenario`` or a wrapper around ``solve_ge``.
    items : sequence
        One element per scenario (a name, a shock table, a parameter dict, ...).
    scheduler : None, str or distributed.Client
        Where to run (see module notes).
    star : bool
        Call ``func(*item)`` instead of ``func(item)``.
    n_workers : int, optional
        Workers of a LocalCluster started here (default 2); only with ``"local"`` or ``"processes"``.
    progress : callable, optional
        ``progress(done, total)``: ``done`` of the ``total = len(items)`` items are finished
        (first call ``(0, total)``; see module notes).

    Returns
    -------
    list
        Results in the order of ``items``.
    """
    caller = _call_star if star else _call_one
    return map_tasks(caller, func, [(item,) for item in items], scheduler=scheduler, n_workers=n_workers,
                     progress=progress)
