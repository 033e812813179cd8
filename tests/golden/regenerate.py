"""Rewrite the golden runs of the built-in scenario library (tests/golden/NAME/).

Usage (from the repository root)::

    PYTHONPATH=src python tests/golden/regenerate.py            # every scenario of `blocsim scenarios list`
    PYTHONPATH=src python tests/golden/regenerate.py NAME ...   # only these
    PYTHONPATH=src python tests/golden/regenerate.py --out DIR  # write elsewhere (e.g. to inspect a change)

Run it only when a change of the model's numbers is intended, then review ``git diff tests/golden``.
A full regeneration also removes the golden files of scenarios no longer in the library (only the
three files this script writes, and their folder once empty). What is stored and the tolerance:
tests/golden/goldens.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from goldens import GOLDEN_DIR, library_names, run_golden, write_golden

GOLDEN_FILES = ("countries.csv", "flows.csv", "diagnostics.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="library scenarios to regenerate (default: all)")
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR, help="folder of the golden runs (default: %(default)s)")
    args = parser.parse_args(argv)
    library = library_names()
    unknown = sorted(set(args.names) - set(library))
    if unknown:
        parser.error(f"not library scenarios: {unknown}; known: {library}")
    names = args.names or library
    with tempfile.TemporaryDirectory(prefix="blocsim-golden-") as scratch:
        for name in names:
            golden = run_golden(name, Path(scratch) / name)
            write_golden(golden, args.out / name)
            print(f"{name}: {len(golden.countries)} countries, {len(golden.flows)} flow totals, "
                  f"converged={golden.diagnostics.get('converged')} -> {args.out / name}")
    if not args.names:
        for stale in sorted(p for p in args.out.iterdir() if p.is_dir() and p.name not in library):
            for file in GOLDEN_FILES:
                (stale / file).unlink(missing_ok=True)
            if not any(stale.iterdir()):
                stale.rmdir()
                print(f"removed the golden run of {stale.name} (no longer in the library)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
