"""Progress display of the CLI's long steps: one helper, used by every command.

The library reports progress through a plain callback ``progress(done, total)`` (the
``progress=`` argument of :func:`blocsim.run_scenario`, :func:`blocsim.monte_carlo`, the store's
import, the dataset builds, ...); :func:`progress_bar` turns it into a Rich display on
**stderr**: a spinner with the elapsed time until the first report, then a bar with
``done/total``, the elapsed and the estimated remaining time. It is erased when the step ends.

stdout is never written to (``--json`` output and redirected tables stay machine-readable),
and the display is off (the callback does nothing, nothing at all is written) when stderr is
not a terminal (a pipe, a file, a CI log) or is a dumb one (``TERM=dumb``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from blocsim.cli import _common

Report = Callable[[int, int], None]
"""``report(done, total)``: the callback handed to the library (see the module notes)."""


class _OnceCounted(ProgressColumn):
    """Shows ``column`` once the task has a total (a bar, ``done/total``, the time left); nothing before."""

    def __init__(self, column: ProgressColumn) -> None:
        self.column = column
        super().__init__()

    def render(self, task: Task) -> RenderableType:
        if task.total is None:
            return Text("")
        return self.column.render(task)


def _ignore(done: int, total: int) -> None:
    """The callback of a display that is off."""


def display_on(console: Console) -> bool:
    """Whether a progress display is drawn on ``console``: a terminal, and not a dumb one."""
    return console.is_terminal and not console.is_dumb_terminal


@contextlib.contextmanager
def progress_bar(description: str, *, console: Console | None = None) -> Iterator[Report]:
    """A progress display for one long step; yields the ``progress(done, total)`` callback to pass on.

    Parameters
    ----------
    description
        What is running, e.g. ``"running kazakhstan-leaves (multi-sector GE)"`` (plain text,
        not Rich markup).
    console
        Where to draw (default: the CLI's stderr console); off unless it is a terminal
        (:func:`display_on`).

    Yields
    ------
    callable
        ``progress(done, total)``: until its first call the display is a spinner with the
        elapsed time; from then on a bar at ``done`` of ``total``. A step with several counted
        parts may call it with a new ``total``; the bar follows.
    """
    target = console if console is not None else _common.err_console
    if not display_on(target):
        yield _ignore
        return
    # the description gives way (ellipsis) on a narrow terminal; the numbers never do
    description_column = TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True,
                                                                              overflow="ellipsis"))
    columns = (SpinnerColumn(), description_column, _OnceCounted(BarColumn(bar_width=24)),
               _OnceCounted(MofNCompleteColumn()), TimeElapsedColumn(), _OnceCounted(TimeRemainingColumn()))
    # redirect_stdout=False: a print to stdout during the step stays on stdout (never on stderr)
    with Progress(*columns, console=target, transient=True, redirect_stdout=False, expand=True) as progress:
        task = progress.add_task(escape(description), total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield report


def counted_writers(writers: Mapping[str, Callable[[Path], None]], units: Mapping[str, int],
                    progress: Report) -> dict[str, Callable[[Path], None]]:
    """``writers`` (file name -> ``write(path)``) that report to ``progress`` as each file is written.

    A file counts ``units[name]`` (e.g. its rows; 1 if not given), of ``total`` = their sum:
    ``progress(0, total)`` comes with the first file started, then ``done`` grows file by file.
    """
    weights = {name: max(int(units.get(name, 1)), 1) for name in writers}
    total = sum(weights.values())
    done = 0

    def counted(name: str, write: Callable[[Path], None]) -> Callable[[Path], None]:
        def run(path: Path) -> None:
            nonlocal done
            if not done:
                progress(0, total)
            write(path)
            done += weights[name]
            progress(done, total)

        return run

    return {name: counted(name, write) for name, write in writers.items()}
