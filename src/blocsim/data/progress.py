"""Progress callbacks: how every long blocsim call reports how far it has got.

A long call (Monte Carlo draws, a sensitivity table, a sweep, a scenario run with draws, a
dataset import or build) takes ``progress``, a callable ``progress(done, total)``:

- it is called once with ``done = 0`` when the counted work starts, then each time a unit (a
  draw, a scenario, a task, a step of a recipe) or a group of units is finished;
- ``done`` strictly increases from call to call and the last call has ``done == total``;
  ``total`` (an int >= 1) is the same in every call of one piece of work;
- it runs in the calling process and thread, must return quickly and must not raise.

The library never prints or draws anything itself: the command line turns the calls into a
progress bar on stderr (``blocsim.cli.progress``), a notebook or a web job may do what it likes.
"""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: ``done`` units of work of ``total`` are finished (see module notes)."""


def step_reporter(progress: ProgressCallback | None, total: int) -> Callable[[int], None]:
    """Report a fixed sequence of ``total`` steps: returns ``step(done)``, calling ``progress(done, total)``.

    ``progress(0, total)`` is called here; ``step(done)`` reports ``done`` only if it is beyond
    the last reported value (so a step reached twice is reported once). With ``progress=None``
    the returned ``step`` does nothing.
    """
    reached = 0
    if progress is not None:
        progress(0, total)

    def step(done: int) -> None:
        nonlocal reached
        if progress is not None and done > reached:
            reached = done
            progress(done, total)

    return step
