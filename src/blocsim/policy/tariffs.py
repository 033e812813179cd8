"""Applied tariff resolution: which rate importer j charges exporter i on product k at date T.

The rules (Treaty on the EAEU, Art. 25 and Annex 6; the same logic holds for any customs
union), in order:

1. Domestic trade pays nothing.
2. Inside a bloc (FTA, customs union or economic union) whose members include both
   countries on T: zero.
3. Else, if the importer belongs to a customs/economic union whose CET is in force on T:
   the member's exemption rate if it has one for k on T (its MFN rate if the exemption
   names no rate), else the CET.
4. Else the importer's MFN rate.
5. A preference regime covering both countries (e.g. the CIS free trade area) replaces
   the rate of steps 3-4 by its preferential rate when that is lower.
6. Tariff-change measures in force then set or shift the rate (a bloc-wide change applies
   to every member of the importer's union on non-member exporters). Rates never go
   below zero.

:func:`resolve_tariff` applies these rules to one (importer, exporter, sector) and says
which rule decided; :func:`applied_tariff_array` applies them to whole (N, N, S) tables
with NumPy masks and must agree with it (tested).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError
from blocsim.policy.model import PolicyState, TariffChange

RULES: tuple[str, ...] = ("domestic", "internal", "exemption", "cet", "mfn", "preference", "measure")


@dataclass(frozen=True)
class TariffResolution:
    """An applied rate (fraction) and the rule that set it (one of :data:`RULES`), with detail."""

    rate: float
    rule: str
    detail: str = ""


def mfn_rate(state: PolicyState, country: str, sector: str) -> float:
    """MFN rate of ``country`` on ``sector`` (fraction); missing rates are a data error."""
    try:
        return float(state.mfn[(country, sector)])
    except KeyError:
        raise DataValidationError(
            f"policy state {state.label or state.date}: no MFN tariff for importer={country!r}, sector={sector!r}; "
            "the dataset's tariffs table must hold a regime='mfn' row for every importer and sector "
            "(add it, or build the state with blocsim.policy.state_from_dataset)"
        ) from None


def resolve_tariff(
    state: PolicyState, importer: str, exporter: str, sector: str, date: dt.date | None = None
) -> TariffResolution:
    """Resolve the applied tariff of ``importer`` on ``exporter``'s ``sector`` goods on ``date``.

    Parameters
    ----------
    state
        Policy state (blocs, preferences, MFN rates, measures).
    importer, exporter
        ISO3 codes.
    sector
        Sector (or product) code of the tariff schedule.
    date
        Date of the rule; defaults to ``state.date``.

    Returns
    -------
    TariffResolution
        Ad valorem rate (fraction) and the deciding rule.
    """
    when = state.date if date is None else date
    if importer == exporter:
        return TariffResolution(0.0, "domestic")
    result: TariffResolution | None = None
    for bloc in state.blocs:
        members = bloc.members_at(when)
        if importer in members and exporter in members:
            result = TariffResolution(0.0, "internal", bloc.name)
            break
    if result is None:
        union = state.customs_union_of(importer, when)
        if union is not None and union.cet_in_force(when):
            exemption = union.exemption(importer, sector, when)
            if exemption is not None:
                rate = mfn_rate(state, importer, sector) if exemption.rate is None else exemption.rate
                result = TariffResolution(rate, "exemption", union.name)
            else:
                result = TariffResolution(float(union.cet[sector]), "cet", union.name)
        else:
            result = TariffResolution(mfn_rate(state, importer, sector), "mfn")
        for preference in state.preferences:
            members = preference.members_at(when)
            if importer in members and exporter in members and preference.covers(sector):
                if preference.rate < result.rate:
                    result = TariffResolution(preference.rate, "preference", preference.name)
    for measure in state.measures_of("tariff"):
        assert isinstance(measure, TariffChange)
        if _measure_applies(state, measure, importer, exporter, sector, when):
            rate = measure.rate if measure.rate is not None else result.rate + float(measure.delta or 0.0)
            result = TariffResolution(max(rate, 0.0), "measure", measure.note or measure.describe())
    return result


def applied_tariff(state: PolicyState, importer: str, exporter: str, sector: str, date: dt.date | None = None) -> float:
    """Applied ad valorem tariff (fraction) of ``importer`` on ``exporter``'s ``sector`` goods; see :func:`resolve_tariff`."""
    return resolve_tariff(state, importer, exporter, sector, date).rate


def _measure_applies(
    state: PolicyState, measure: TariffChange, importer: str, exporter: str, sector: str, when: dt.date
) -> bool:
    if measure.sectors and sector not in measure.sectors:
        return False
    if measure.exporters and exporter not in measure.exporters:
        return False
    if not measure.bloc_wide:
        return importer == measure.importer
    union = state.customs_union_of(measure.importer, when)
    members = union.members_at(when) if union is not None else (measure.importer,)
    return importer in members and exporter not in members


def applied_tariff_array(
    state: PolicyState, countries: Sequence[str], sectors: Sequence[str], date: dt.date | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Applied tariffs for every (exporter, importer, sector) at once.

    Parameters
    ----------
    state
        Policy state.
    countries
        ISO3 codes, length N (order of the array axes).
    sectors
        Sector codes, length S.
    date
        Date of the rules; defaults to ``state.date``.

    Returns
    -------
    rates : ndarray, shape (N, N, S)
        ``rates[i, j, s]``: tariff of importer j on exporter i in sector s (fractions).
    rules : ndarray of int, shape (N, N, S)
        Index into :data:`RULES` of the deciding rule.
    """
    when = state.date if date is None else date
    codes = list(countries)
    n, s = len(codes), len(sectors)
    index = {c: k for k, c in enumerate(codes)}
    sector_index = {c: k for k, c in enumerate(sectors)}
    table = pd.Series(dict(state.mfn), dtype=float)
    wanted = pd.MultiIndex.from_product([codes, list(sectors)])
    mfn = table.reindex(wanted).to_numpy().reshape(n, s) if len(table) else np.full((n, s), np.nan)
    if np.isnan(mfn).any():
        j, k = np.argwhere(np.isnan(mfn))[0]
        mfn_rate(state, codes[j], sectors[k])  # raises the data error naming the missing rate

    def mask(members: Sequence[str]) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[[index[m] for m in members if m in index]] = True
        return out

    def sector_mask(names: Sequence[str]) -> np.ndarray:
        if not names:
            return np.ones(s, dtype=bool)
        out = np.zeros(s, dtype=bool)
        out[[sector_index[x] for x in names if x in sector_index]] = True
        return out

    # steps 3-4: the importer's external rate (N_importer, S)
    external = mfn.copy()
    external_rule = np.full((n, s), RULES.index("mfn"))
    for bloc in state.blocs:
        if not bloc.cet_in_force(when):
            continue
        members = mask(bloc.members_at(when))
        cet = np.array([float(bloc.cet[k]) for k in sectors])
        external[members] = cet
        external_rule[members] = RULES.index("cet")
        for exemption in bloc.exemptions:
            if exemption.active(when) and exemption.country in index and exemption.sector in sector_index:
                j, k = index[exemption.country], sector_index[exemption.sector]
                if members[j] and bloc.exemption(exemption.country, exemption.sector, when) is exemption:
                    external[j, k] = mfn[j, k] if exemption.rate is None else exemption.rate
                    external_rule[j, k] = RULES.index("exemption")
    rates = np.broadcast_to(external[None, :, :], (n, n, s)).copy()
    rules = np.broadcast_to(external_rule[None, :, :], (n, n, s)).copy()
    # step 5: preferences lower the rate for pairs of members
    for preference in state.preferences:
        members = mask(preference.members_at(when))
        pair = (members[:, None] & members[None, :])[:, :, None] & sector_mask(preference.sectors)[None, None, :]
        lower = pair & (preference.rate < rates)
        rates[lower] = preference.rate
        rules[lower] = RULES.index("preference")
    # step 2: internal zero
    for bloc in state.blocs:
        members = mask(bloc.members_at(when))
        inside = np.broadcast_to((members[:, None] & members[None, :])[:, :, None], (n, n, s))
        rates[inside] = 0.0
        rules[inside] = RULES.index("internal")
    # step 6: tariff measures
    for measure in state.measures_of("tariff"):
        assert isinstance(measure, TariffChange)
        exporters = mask(measure.exporters) if measure.exporters else np.ones(n, dtype=bool)
        if measure.bloc_wide:
            union = state.customs_union_of(measure.importer, when)
            members = mask(union.members_at(when) if union is not None else (measure.importer,))
            pair = exporters[:, None] & ~members[:, None] & members[None, :]
        else:
            pair = exporters[:, None] & mask((measure.importer,))[None, :]
        hit = pair[:, :, None] & sector_mask(measure.sectors)[None, None, :]
        new = np.full_like(rates, measure.rate) if measure.rate is not None else rates + float(measure.delta or 0.0)
        rates = np.where(hit, np.maximum(new, 0.0), rates)
        rules[hit] = RULES.index("measure")
    # step 1: domestic
    diagonal = np.eye(n, dtype=bool)
    rates[diagonal] = 0.0
    rules[diagonal] = RULES.index("domestic")
    return rates, rules


def applied_tariff_table(
    state: PolicyState, countries: Sequence[str], sectors: Sequence[str], date: dt.date | None = None
) -> pd.DataFrame:
    """Applied tariffs as a tidy table ``exporter, importer, sector, tariff, rule`` (no domestic rows)."""
    rates, rules = applied_tariff_array(state, countries, sectors, date)
    n, s = len(countries), len(sectors)
    exporter, importer, sector = np.meshgrid(np.arange(n), np.arange(n), np.arange(s), indexing="ij")
    codes = np.asarray(countries, dtype=object)
    frame = pd.DataFrame(
        {
            "exporter": codes[exporter.ravel()],
            "importer": codes[importer.ravel()],
            "sector": np.asarray(sectors, dtype=object)[sector.ravel()],
            "tariff": rates.ravel(),
            "rule": np.asarray(RULES, dtype=object)[rules.ravel()],
        }
    )
    return frame[frame["exporter"] != frame["importer"]].reset_index(drop=True)
