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
   Tariff measures *without* listed exporters (:class:`~blocsim.policy.model.TariffChange`)
   change this external rate of steps 3-4: the importer's own (or, ``bloc_wide``, every
   member's) rate on the sector, so they never reach fellow bloc members (step 2).
5. A preference regime covering both countries (e.g. the CIS free trade area) replaces
   the external rate by its preferential rate when that is lower.
6. Tariff measures *with* listed exporters then set or shift the bilateral rate on exactly
   those exporters (``bloc_wide``: every member of the importer's union on the listed
   non-members). Rates never go below zero.

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

from blocsim.errors import DataValidationError, PolicyRuleViolation
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


def tariff_measures(state: PolicyState) -> tuple[TariffChange, ...]:
    """The state's tariff measures (typed)."""
    return tuple(m for m in state.measures if isinstance(m, TariffChange))


def measure_importers(state: PolicyState, measure: TariffChange, date: dt.date | None = None) -> tuple[str, ...]:
    """Importers that apply ``measure`` on ``date``: its importer, or every member of its union (``bloc_wide``).

    Raises
    ------
    PolicyRuleViolation
        A ``bloc_wide`` measure whose importer is in no customs union on the date, or that
        names a fellow member among its exporters (a CET applies to non-members only).
    """
    if not measure.bloc_wide:
        return (measure.importer,)
    when = state.date if date is None else date
    union = state.customs_union_of(measure.importer, when)
    if union is None:
        raise PolicyRuleViolation(
            f"measure '{measure.describe()}' ({state.label or when}): bloc_wide = true but {measure.importer} belongs "
            f"to no customs union on {when}, so there is no CET to change. Fix: drop bloc_wide (a change of "
            f"{measure.importer}'s own tariff)"
        )
    members = union.members_at(when)
    named = sorted(set(measure.exporters) & set(members))
    if named:
        raise PolicyRuleViolation(
            f"measure '{measure.describe()}' ({state.label or when}): a CET change (bloc_wide = true) names fellow "
            f"{union.name} member(s) {named} among its exporters; a CET applies to non-members only. Fix: drop them, "
            "or give a separate measure without bloc_wide to tax a member (an internal tariff, a rule violation)"
        )
    return members


def _new_rate(measure: TariffChange, current: float | np.ndarray) -> float | np.ndarray:
    """The rate a measure sets: ``rate``, or ``current + delta``; never below zero."""
    new = measure.rate if measure.rate is not None else current + float(measure.delta or 0.0)
    return np.maximum(new, 0.0)


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
    measures = tariff_measures(state)
    targets = {m: measure_importers(state, m, when) for m in measures}
    covered = [m for m in measures if not m.sectors or sector in m.sectors]
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
        for measure in covered:  # external-tariff changes (no listed exporters)
            if not measure.targeted and importer in targets[measure]:
                rate = float(_new_rate(measure, result.rate))
                result = TariffResolution(rate, "measure", measure.note or measure.describe())
        for preference in state.preferences:
            members = preference.members_at(when)
            if importer in members and exporter in members and preference.covers(sector):
                if preference.rate < result.rate:
                    result = TariffResolution(preference.rate, "preference", preference.name)
    for measure in covered:  # bilateral rates on listed exporters (never fellow members for a CET change)
        if measure.targeted and exporter in measure.exporters and importer in targets[measure]:
            rate = float(_new_rate(measure, result.rate))
            result = TariffResolution(rate, "measure", measure.note or measure.describe())
    return result


def applied_tariff(state: PolicyState, importer: str, exporter: str, sector: str, date: dt.date | None = None) -> float:
    """Applied ad valorem tariff (fraction) of ``importer`` on ``exporter``'s ``sector`` goods; see :func:`resolve_tariff`."""
    return resolve_tariff(state, importer, exporter, sector, date).rate


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
    measures = tariff_measures(state)
    targets = {m: mask(measure_importers(state, m, when)) for m in measures}
    # step 4 (end): external-tariff changes (measures without listed exporters)
    for measure in measures:
        if not measure.targeted:
            hit = targets[measure][:, None] & sector_mask(measure.sectors)[None, :]
            external = np.where(hit, _new_rate(measure, external), external)
            external_rule[hit] = RULES.index("measure")
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
    # step 6: bilateral rates on listed exporters
    for measure in measures:
        if measure.targeted:
            pair = mask(measure.exporters)[:, None] & targets[measure][None, :]
            hit = pair[:, :, None] & sector_mask(measure.sectors)[None, None, :]
            rates = np.where(hit, _new_rate(measure, rates), rates)
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
