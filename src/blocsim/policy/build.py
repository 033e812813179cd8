"""Build policy objects from definitions (TOML specs) and a dataset's tariff tables.

The built-in policy library (``blocsim/policy/library/*.toml``) defines the EAEU and the
CIS free trade area as data; the CET and MFN rates come from the dataset's ``tariffs``
table (``importer, sector, year, regime, rate, source`` with regime ``mfn``/``cet``/
``applied``), so every rate carries the dataset's source.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from pydantic import ValidationError

from blocsim.errors import DataValidationError
from blocsim.policy.model import Bloc, Exemption, Membership, PolicyState, PoolPeriod, Preference
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


def load_policy_file(name_or_path: str | Path) -> PolicyFile:
    """Load a built-in policy definition by name, or a policy TOML file by path."""
    text, where = _read_policy_text(name_or_path)
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataValidationError(f"{where}: not valid TOML ({error})") from None
    try:
        return PolicyFile.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise DataValidationError(
            f"{where}: field {field!r}: {first['msg']} (got {first.get('input')!r}); fix the policy definition"
        ) from None


def _read_policy_text(name_or_path: str | Path) -> tuple[str, str]:
    name = str(name_or_path)
    if not name.endswith(".toml") and "/" not in name:
        key = name.replace("-", "_").lower()
        path = resources.files("blocsim.policy") / "library" / f"{key}.toml"
        if not path.is_file():
            raise DataValidationError(
                f"policy {name!r}: no built-in policy definition of that name; built-in: {policy_library_names()} "
                "(or give the path of a policy .toml file)"
            )
        return path.read_text(), f"built-in policy {key}"
    file = Path(name)
    if not file.is_file():
        raise DataValidationError(f"policy file {file}: not found; give an existing .toml path or a built-in name")
    return file.read_text(), str(file)


# ------------------------------------------------------------------------- spec -> objects


def _members(specs: Sequence[Any]) -> tuple[Membership, ...]:
    return tuple(Membership(m.country, m.joined, m.left) for m in specs)


def bloc_from_spec(spec: BlocSpec, rates: RateTables | None) -> Bloc:
    """Turn a bloc definition into a :class:`~blocsim.policy.model.Bloc`, taking ``cet = "dataset"`` from ``rates``."""
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
    return Bloc(
        name=spec.name,
        kind=spec.kind,
        members=_members(spec.members),
        cet=cet,
        cet_start=spec.cet_start,
        exemptions=tuple(
            Exemption(e.country, e.sector, _exemption_rate(spec.name, e, rates), e.start, e.until, e.source)
            for e in spec.exemptions
        ),
        checks_removed=spec.checks_removed,
        border_cost=spec.border_cost,
        border_sectors=tuple(spec.border_sectors),
        duty_pool=tuple(PoolPeriod(p.start, dict(p.shares), p.source) for p in spec.duty_pool),
        sources=tuple(spec.sources),
    )


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
