"""Write exported files into a user's folder: refuse to overwrite unless forced, write whole.

The rule shared by ``blocsim data export``, ``blocsim export`` and ``blocsim compare --out``:
existing files of the names to be written are never overwritten unless ``force``; every
file is written to a temporary sibling first and renamed into place
(:func:`blocsim.results.write_files`); no other file in the folder is touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

from blocsim.errors import BlocsimError
from blocsim.results.journal import write_files


def check_targets(folder: str | os.PathLike[str], names: list[str], *, force: bool, option: str = "--out") -> Path:
    """Create ``folder`` if needed; refuse files of these ``names`` already in it unless ``force``.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    BlocsimError
        ``folder`` is a file or cannot be created; one of ``names`` exists and is not a regular
        file; or one exists and ``force`` is false (nothing is written in any case).
    """
    out = Path(folder)
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise BlocsimError(f"{option} {out}: is a file, not a folder; choose a folder for the exported files")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BlocsimError(
            f"{option} {out}: cannot create the folder ({error.strerror or error}); choose a writable location"
        ) from None
    existing = [name for name in names if (out / name).exists() or (out / name).is_symlink()]
    odd = [name for name in existing if not (out / name).is_file() or (out / name).is_symlink()]
    if odd:
        raise BlocsimError(f"{option} {out}: not regular files: {', '.join(odd)}; nothing was written: choose another {option}")
    if existing and not force:
        raise BlocsimError(
            f"{option} {out}: these files already exist: {', '.join(existing)}; nothing was written. Pass --force to "
            f"overwrite these files (no other file in the folder is touched), or choose another {option}"
        )
    return out


def write_outputs(
    folder: str | os.PathLike[str], writers: Mapping[str, Callable[[Path], None]], *, force: bool, option: str = "--out"
) -> list[Path]:
    """:func:`check_targets` for the writers' file names, then write them all (each whole).

    Parameters
    ----------
    folder
        Folder to write into (created if missing).
    writers
        File name -> function writing that file to the path it is given.
    force
        Overwrite files of these names that already exist (other files are never touched).
    option
        How the folder is named in error messages (the CLI option or Python argument).

    Returns
    -------
    list of Path
        The written files, in the order of ``writers``.
    """
    out = check_targets(folder, list(writers), force=force, option=option)
    return write_files(out, writers)
