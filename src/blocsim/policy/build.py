"""Build policy objects from definitions (TOML specs) and a dataset's tariff tables.

The built-in policy library (``blocsim/policy/library/*.toml``) defines the EAEU and the
CIS free trade area as data; the CET and MFN rates come from the dataset's ``tariffs``
table (``importer, sector, year, regime, rate, source`` with regime ``mfn``/``cet``/
``applied``), so every rate carries the dataset's source.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from pydantic import ValidationError

from blocsim.data.sector_map import expand_sectors
from blocsim.errors import DataValidationError
from blocsim.data.border_costs import BORDER_TABLES, load_border_aves, screen_border_aves
from blocsim.policy.model import Bloc, Exemption, Membership, PairBorder, PolicyState, PoolPeriod, Preference
from blocsim.policy.spec import BlocSpec, ExemptionSpec, PolicyFile, PreferenceSpec


@dataclass(frozen=True)
class RateTables:
    """Tariff schedules read from a dataset (fractions).

    Attributes
    ----------
    mfn : mapping (country, sector) -> rate
        Each country's own MFN schedule (from the year nearest the tariff year in which the
        dataset has one: a union member's last own schedule is the one before it joined).
    applied : mapping (country, sector) -> rate
        What each country applies to non-preferential partners (regime ``applied``);
        differs from the CET where a member has exemptions.
    cet : mapping sector -> rate
        The common external tariff.
    """

    mfn: Mapping[tuple[str, str], float]
    applied: Mapping[tuple[str, str], float]
    cet: Mapping[str, float]
    year: int
    cet_year: int | None
    sources: tuple[str, ...] = ()


def nearest_year(available: Sequence[int], year: int) -> int:
    """The available year closest to ``year`` (ties go to the earlier year)."""
    return min(sorted(set(int(y) for y in available)), key=lambda y: (abs(y - year), y))


def _nearest_rows(rows: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per (importer, sector), the row of the year nearest ``year`` (ties: earlier year)."""
    ranked = rows.assign(_d=(rows["year"].astype(int) - year).abs())
    ranked = ranked.sort_values(["importer", "sector", "_d", "year"])
    return ranked.drop_duplicates(["importer", "sector"], keep="first").drop(columns="_d")


def rates_from_tariffs(tariffs: pd.DataFrame, year: int, *, cet_members: Sequence[str] = ()) -> RateTables:
    """Read MFN, applied and CET rates for ``year`` from a tariffs table.

    Parameters
    ----------
    tariffs
        Columns ``importer, sector, year, regime, rate[, source]``; ``rate`` a fraction;
        regime in ``mfn``, ``cet``, ``applied``.
    year
        Tariff year wanted. Each (importer, sector) uses its row of the nearest year that
        has one for that regime (ties go to the earlier year); the CET uses the nearest
        year with ``cet`` rows.
    cet_members
        Union members whose ``cet`` rows define the CET (the first one with rows is used;
        all should hold the same schedule). Empty: the median over every ``cet`` row.

    Returns
    -------
    RateTables
    """
    required = {"importer", "sector", "year", "regime", "rate"}
    missing = required - set(tariffs.columns)
    if missing:
        raise DataValidationError(f"tariffs table: missing column(s) {sorted(missing)}; expected {sorted(required)}")
    mfn_rows = _nearest_rows(tariffs[tariffs["regime"] == "mfn"], year)
    if mfn_rows.empty:
        raise DataValidationError("tariffs table: no regime='mfn' rows; every importer needs MFN rates by sector")
    applied_rows = _nearest_rows(tariffs[tariffs["regime"] == "applied"], year)
    cet_rows = tariffs[tariffs["regime"] == "cet"]
    cet: dict[str, float] = {}
    cet_year: int | None = None
    if not cet_rows.empty:
        cet_year = nearest_year(cet_rows["year"].tolist(), year)
        cet_rows = cet_rows[cet_rows["year"] == cet_year]
        for member in cet_members:
            if (cet_rows["importer"] == member).any():
                cet_rows = cet_rows[cet_rows["importer"] == member]
                break
        cet = cet_rows.groupby("sector")["rate"].median().astype(float).to_dict()

    def table(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
        return {(str(i), str(k)): float(r) for i, k, r in zip(rows["importer"], rows["sector"], rows["rate"])}

    sources: tuple[str, ...] = ()
    if "source" in tariffs.columns:
        used = pd.concat([mfn_rows, applied_rows, cet_rows])
        sources = tuple(sorted({str(x) for x in used["source"].dropna().unique() if str(x)}))
    return RateTables(mfn=table(mfn_rows), applied=table(applied_rows), cet=cet, year=int(year), cet_year=cet_year,
                      sources=sources)


# ------------------------------------------------------------------------- library files


def policy_library_names() -> list[str]:
    """Names of the built-in policy definitions (e.g. ``eaeu``, ``cis_fta``)."""
    folder = resources.files("blocsim.policy") / "library"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_policy_file(name_or_path: str | Path, *, include_dirs: Sequence[str | os.PathLike[str]] = ()) -> PolicyFile:
    """Load a built-in policy definition by name, or a policy TOML file under an allowed folder.

    Parameters
    ----------
    name_or_path
        A built-in name (``"eaeu"``, ``"cis_fta"``) or the path of a policy ``.toml`` file.
    include_dirs
        Folders policy files may come from (see :func:`resolve_policy_include`). Empty (the
        default): built-in names only, no file is ever opened.

    Raises
    ------
    DataValidationError
        Unknown built-in name, a file outside ``include_dirs`` (the message is the same
        whether or not it exists), a missing file inside them, or an invalid definition.
    """
    source = resolve_policy_include(name_or_path, include_dirs)
    if isinstance(source, Path):
        try:
            text, where = source.read_text(encoding="utf-8"), str(source)
        except (OSError, UnicodeDecodeError) as error:
            raise DataValidationError(f"policy file {source}: cannot be read ({error})") from None
    else:
        text, where = source.read_text(encoding="utf-8"), f"built-in policy {source.name[:-5]}"
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise DataValidationError(f"{where}: not valid TOML ({error})") from None
    try:
        return PolicyFile.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise DataValidationError(
            f"{where}: field {field!r}: {first['msg']} (got {first.get('input')!r}); fix the policy definition"
        ) from None


def is_policy_path(name: str) -> bool:
    """Whether a ``[policy] include`` entry names a file (ends in ``.toml`` or holds a path separator)."""
    return name.endswith(".toml") or "/" in name or "\\" in name


def resolve_policy_include(
    name_or_path: str | Path, include_dirs: Sequence[str | os.PathLike[str]] = ()
) -> Traversable | Path:
    """Where a ``[policy] include`` entry is read from: a built-in definition or an allowed file.

    Built-in names (``eaeu``, ``cis_fta``; ``-`` and case do not matter) are always allowed.
    A path is allowed only inside one of ``include_dirs``: a relative path is looked up in
    each folder in turn, an absolute one must lie inside one of them, and both are checked
    after ``..`` and symbolic links are resolved. The command line allows the scenario
    file's own folder and ``--include-dir`` folders; the web dashboard allows none.

    Parameters
    ----------
    name_or_path
        The include entry.
    include_dirs
        Allowed folders (empty: built-in names only).

    Returns
    -------
    importlib.resources.abc.Traversable or pathlib.Path
        The built-in definition, or the resolved path of an existing file.

    Raises
    ------
    DataValidationError
        An unknown built-in name, or a path that is not an existing ``.toml`` file inside an
        allowed folder. A path outside every allowed folder is refused with the same message
        whether the file exists or not (with no allowed folder, before any file-system call).
    """
    name = str(name_or_path)
    built_in = policy_library_names()
    if not is_policy_path(name):
        key = name.replace("-", "_").lower()
        if key not in built_in:
            raise DataValidationError(
                f"policy {name!r}: no built-in policy definition of that name; built-in: {', '.join(built_in)} "
                "(or the path of a policy .toml file in an allowed folder)"
            )
        return resources.files("blocsim.policy") / "library" / f"{key}.toml"
    folders = [Path(os.path.realpath(folder)) for folder in include_dirs]
    refused = (
        f"policy file {name!r}: not allowed; a policy include must be a built-in name ({', '.join(built_in)})"
        + (
            f" or a .toml file inside {', '.join(str(f) for f in folders)}"
            if folders else "; policy files are not allowed here (the command line allows files beside the scenario "
            "file and in folders given with --include-dir)"
        )
    )
    if not folders or not name.endswith(".toml") or "\x00" in name:
        raise DataValidationError(refused)
    given = Path(name)
    candidates = [given] if given.is_absolute() else [folder / given for folder in folders]
    inside = [
        resolved for resolved in (Path(os.path.realpath(c)) for c in candidates)
        if any(resolved.is_relative_to(folder) for folder in folders)
    ]
    if not inside:
        raise DataValidationError(refused)
    for resolved in inside:
        if resolved.is_file():
            return resolved
    raise DataValidationError(
        f"policy file {name!r}: not found in {', '.join(str(f) for f in folders)}; check the name or give a "
        f"built-in policy ({', '.join(built_in)})"
    )


# ------------------------------------------------------------------------- spec -> objects


def _members(specs: Sequence[Any]) -> tuple[Membership, ...]:
    return tuple(Membership(m.country, m.joined, m.left) for m in specs)


def bloc_from_spec(spec: BlocSpec, rates: RateTables | None) -> Bloc:
    """Turn a bloc definition into a :class:`~blocsim.policy.model.Bloc`, taking ``cet = "dataset"`` from ``rates``.

    Broad 2016v1 sector names in exemptions and ``border_sectors`` that the dataset's tariff
    tables lack become the ICIO sectors they mean (:func:`blocsim.data.sector_map.expand_sectors`).
    """
    known = {k for _, k in rates.mfn} | set(rates.cet) if rates is not None else set()
    exemptions = [e.model_copy(update={"sector": k}) for e in spec.exemptions for k in expand_sectors([e.sector], known)]
    cet: dict[str, float] = {}
    if spec.kind != "fta":
        if spec.cet == "dataset":
            if rates is None or not rates.cet:
                raise DataValidationError(
                    f"bloc {spec.name}: cet = 'dataset' but the dataset's tariffs table has no regime='cet' rows; "
                    "add CET rates to the dataset or give cet = {sector = rate, ...} in the bloc definition"
                )
            cet = dict(rates.cet)
        else:
            cet = dict(spec.cet)
    used, fallbacks = _border_estimates(spec)
    return Bloc(
        name=spec.name,
        kind=spec.kind,
        members=_members(spec.members),
        cet=cet,
        cet_start=spec.cet_start,
        exemptions=tuple(
            Exemption(e.country, e.sector, _exemption_rate(spec.name, e, rates), e.start, e.until, e.source)
            for e in exemptions
        ),
        checks_removed=spec.checks_removed,
        free_movement_start=spec.free_movement_start,
        border_cost=spec.border_cost,
        border_sectors=expand_sectors(spec.border_sectors, known),
        duty_pool=tuple(PoolPeriod(p.start, dict(p.shares), p.source) for p in spec.duty_pool),
        sources=tuple(spec.sources),
        border_estimates=used,
        border_fallbacks=fallbacks,
        max_border_ave=spec.max_border_ave if spec.border_estimates else None,
        pair_borders=tuple(PairBorder((b.countries[0], b.countries[1]), b.checks_removed, b.ave, b.source)
                           for b in spec.borders),
        border_source=(f"estimated: blocsim/data/estimates/{BORDER_TABLES[spec.border_estimates]} (PPML on "
                       "eaeu-2022v2; blocsim.estimation.border_effects)" if spec.border_estimates else ""),
    )


def _border_estimates(spec: BlocSpec) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """The bloc's estimates from the shipped table ``spec.border_estimates``, screened: ``{sector: (ave, se)}``
    used and ``{sector: reason}`` falling back to the flat ``border_cost`` (both empty without a table;
    :func:`blocsim.data.border_costs.screen_border_aves`)."""
    if spec.border_estimates is None:
        return {}, {}
    table = load_border_aves(spec.border_estimates)
    rows = table[table["bloc"] == spec.name]
    if rows.empty:
        raise DataValidationError(f"bloc {spec.name}: border_estimates = {spec.border_estimates!r} holds no rows for "
                                  f"this bloc (blocs in it: {sorted(table['bloc'].unique())})")
    return screen_border_aves(rows, max_ave=spec.max_border_ave)


def _exemption_rate(bloc: str, spec: ExemptionSpec, rates: RateTables | None) -> float | None:
    """An exemption's rate: a number, None (the member's MFN) or the dataset's ``applied`` rate."""
    if spec.rate != "applied":
        return spec.rate
    key = (spec.country, spec.sector)
    if rates is None or key not in rates.applied:
        raise DataValidationError(
            f"bloc {bloc}: exemption of {spec.country} for {spec.sector} takes rate = 'applied' but the dataset's "
            "tariffs table has no regime='applied' row for it; add the row or give the rate as a number"
        )
    return float(rates.applied[key])


def preference_from_spec(spec: PreferenceSpec) -> Preference:
    """Turn a preference definition into a :class:`~blocsim.policy.model.Preference`."""
    return Preference(
        name=spec.name, members=_members(spec.members), rate=spec.rate, sectors=tuple(spec.sectors),
        sources=tuple(spec.sources), deflection_cost=spec.deflection_cost,
    )


def state_at(
    date: dt.date,
    *,
    blocs: Sequence[Bloc],
    preferences: Sequence[Preference] = (),
    rates: RateTables,
    measures: Sequence[Any] = (),
    allow_rule_violations: bool = False,
    label: str = "",
) -> PolicyState:
    """Assemble a :class:`~blocsim.policy.model.PolicyState` for ``date``."""
    return PolicyState(
        date=date,
        blocs=tuple(blocs),
        preferences=tuple(preferences),
        mfn=dict(rates.mfn),
        measures=tuple(measures),
        allow_rule_violations=allow_rule_violations,
        label=label,
    )
