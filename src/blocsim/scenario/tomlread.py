"""Bounded TOML reading for scenario and ``blocsim ge`` files: size and nesting checked first.

:mod:`tomllib` parses nested arrays and inline tables recursively, so a hostile file such as
``a = [[[[...]]]]`` exhausts Python's stack (``RecursionError``), and a very large file exhausts
memory. Before parsing, :func:`loads_bounded` refuses text longer than :data:`MAX_TOML_BYTES`
or with brackets nested deeper than :data:`MAX_TOML_DEPTH` (a scan that skips strings and
comments); after parsing it refuses documents nested deeper than :data:`MAX_TOML_DEPTH`
through dotted keys (``[a.b.c...]``). A ``RecursionError`` that still escapes the parser is
caught here. Every refusal is a :class:`~blocsim.errors.ScenarioError` naming the file.
Scenario files need about four levels (``after.measures[0].covered_share``) and a few kB.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from blocsim.errors import ScenarioError

MAX_TOML_BYTES = 1024 * 1024
"""Largest scenario or ``blocsim ge`` file accepted (bytes, UTF-8)."""
MAX_TOML_DEPTH = 16
"""Deepest nesting of tables and arrays accepted in such a file."""

_TOKENS = re.compile(
    r'#[^\n]*|"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[\[\]{}]',
    re.DOTALL,
)


def bracket_depth(text: str) -> int:
    """Deepest nesting of ``[ ]`` and ``{ }`` in TOML ``text``, outside strings and comments.

    Table headers count too (``[[a]]`` is 2). An unterminated string ends the scan early;
    the parser then reports the syntax error.
    """
    if text.count("[") + text.count("{") <= MAX_TOML_DEPTH:
        return text.count("[") + text.count("{")  # an upper bound, cheap
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def tree_depth(value: Any) -> int:
    """Nesting depth of parsed TOML (a scalar is 0, ``{"a": 1}`` is 1), without recursion.

    The walk stops one level below :data:`MAX_TOML_DEPTH`: a deeper document gives ``MAX_TOML_DEPTH + 1``.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        if depth + 1 <= MAX_TOML_DEPTH:  # deeper is already too deep: stop walking
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(label: str, depth: str) -> ScenarioError:
    return ScenarioError(f"{label}: tables and arrays nested {depth} levels deep; allowed: at most {MAX_TOML_DEPTH}. "
                         "Fix: flatten the file (scenario files need about four levels).")


def loads_bounded(text: str, label: str) -> dict[str, Any]:
    """Parse TOML ``text`` after checking its size and nesting; ``label`` names the file in errors.

    Raises
    ------
    ScenarioError
        Text over :data:`MAX_TOML_BYTES`, nesting over :data:`MAX_TOML_DEPTH`, or not valid
        TOML (with tomllib's line and column).
    """
    if not isinstance(text, str):
        raise ScenarioError(f"{label}: cannot be read as TOML text: got {type(text).__name__}, allowed: str")
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_TOML_BYTES:
        raise ScenarioError(f"{label}: {size:,} bytes; allowed: at most {MAX_TOML_BYTES:,} bytes. Fix: a scenario "
                            "file is a few kB; split or shorten it.")
    depth = bracket_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise _too_deep(label, f"{depth:,}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{label}: not valid TOML: {error}; fix the syntax at that line") from None
    except RecursionError:  # the scan above should prevent it; never let it escape as a traceback
        raise _too_deep(label, "too many") from None
    if tree_depth(raw) > MAX_TOML_DEPTH:  # dotted keys nest without brackets: [a.b.c. ...]
        raise _too_deep(label, f"more than {MAX_TOML_DEPTH}")
    return raw


def read_bounded(path: Path, what: str) -> str:
    """Text of the UTF-8 file ``path``, refused before reading if over :data:`MAX_TOML_BYTES`.

    ``what`` describes the file in messages (``"scenario file"``, ``"config file"``).

    Raises
    ------
    ScenarioError
        Missing, unreadable, too large or not UTF-8, naming ``path``.
    """
    try:
        if not path.is_file():
            if path.exists():
                raise ScenarioError(f"{path}: {what} is not a regular file; fix: pass the path of a .toml file")
            raise ScenarioError(f"{path}: {what} not found; fix: pass the path of an existing .toml file")
        with path.open("rb") as handle:
            data = handle.read(MAX_TOML_BYTES + 1)  # never more than the limit, even if the file grows
        if len(data) > MAX_TOML_BYTES:
            raise ScenarioError(f"{path}: {what} of more than {MAX_TOML_BYTES:,} bytes; allowed: at most "
                                f"{MAX_TOML_BYTES:,} bytes. Fix: a scenario file is a few kB; pass the right file.")
        return data.decode("utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: {what} cannot be read ({error.strerror or error}); fix: pass the path of a "
                            ".toml file") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: {what} is not a UTF-8 text file; fix: pass the path of a .toml file") from None
