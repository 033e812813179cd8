"""Customs checks at a bloc's internal borders: cost terms by border, sector and date.

A pair of countries pays the border cost ``a`` (an ad valorem equivalent) on
``kappa^(-theta)`` while customs checks stand between them, and nothing once they are gone.
Which borders are open on a date (:func:`open_borders`):

- between two members of a bloc whose internal checks are removed (``checks_removed``);
- between the two countries of a :class:`~blocsim.policy.model.PairBorder` with its own
  ``checks_removed`` date, whatever the memberships: e.g. Russia-Belarus, without checks since
  their 1995 customs union agreement, so no EAEU scenario removes or restores them.

The cost of a border (:meth:`blocsim.policy.model.Bloc.border_ave`): the pair's own AVE,
else the sector's estimate (PPML on the ``eaeu-2022v2`` panel, with a standard error:
:mod:`blocsim.estimation.border_effects`), else the bloc's flat ``border_cost`` (an
assumption). Only changes between the two states matter: a border opened between them gives
the factor ``(1 + a)^theta``, one closed ``(1 + a)^(-theta)``. AVE inputs are named
``border_cost[<bloc>]`` for the flat cost, ``border_cost[<bloc> <sector>]`` for a sector's
estimate (drawn from ``normal(ave, se)`` by the uncertainty bands) and
``border_cost[<bloc> <A>-<B>]`` for a pair's own AVE.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blocsim.policy.model import Bloc, PolicyState
from blocsim.shock.terms import CostTerm


def open_borders(state: PolicyState, bloc: Bloc, countries: Sequence[str]) -> np.ndarray:
    """(N, N) mask of country pairs without customs checks on ``state.date`` under ``bloc``'s rules."""
    index = {c: k for k, c in enumerate(countries)}
    n = len(countries)
    members = np.zeros(n, dtype=bool)
    if not bloc.internal_checks(state.date):
        members[[index[c] for c in bloc.members_at(state.date) if c in index]] = True
    out = members[:, None] & members[None, :]
    for border in bloc.pair_borders:
        a, b = border.countries
        if border.open_on(state.date) and a in index and b in index:
            out[index[a], index[b]] = out[index[b], index[a]] = True
    out &= ~np.eye(n, dtype=bool)
    return out


def _input_name(bloc: Bloc, sector: str, pair: tuple[str, str]) -> str:
    if any(set(b.countries) == set(pair) and b.ave is not None for b in bloc.pair_borders):
        return f"border_cost[{bloc.name} {'-'.join(sorted(pair))}]"
    if sector in bloc.border_estimates:
        return f"border_cost[{bloc.name} {sector}]"
    return f"border_cost[{bloc.name}]"


def border_terms(
    before: PolicyState, after: PolicyState, countries: Sequence[str], sectors: Sequence[str],
) -> tuple[list[CostTerm], list[str]]:
    """Cost terms of customs checks removed or restored between the states, and notes.

    Blocs are matched by name (a bloc only in the after state has all its borders closed
    before). One term per (bloc, sector, AVE input, direction).
    """
    n = len(countries)
    terms: list[CostTerm] = []
    notes: list[str] = []
    earlier = {b.name: b for b in before.blocs}
    for bloc in after.blocs:
        if not bloc.has_border_cost:
            continue
        opened = open_borders(after, bloc, countries).astype(int)
        if bloc.name in earlier:
            opened = opened - open_borders(before, earlier[bloc.name], countries).astype(int)
        if not opened.any():
            continue
        for sign, word in ((1, "removed"), (-1, "restored")):
            rows, cols = np.nonzero(opened == sign)
            if not rows.size:
                continue
            groups: dict[tuple[int, str, float, float], list[tuple[int, int]]] = {}
            for k, sector in enumerate(sectors):
                if not bloc.pass_customs(sector):
                    continue
                for i, j in zip(rows.tolist(), cols.tolist()):
                    pair = (countries[i], countries[j])
                    ave, se = bloc.border_ave(sector, pair)
                    if ave == 0:
                        continue
                    groups.setdefault((k, _input_name(bloc, sector, pair), ave, se), []).append((i, j))
            for (k, name, ave, se), cells in groups.items():
                terms.append(CostTerm(kind="border", input=name, ave=ave, share=1.0, state="change", power=sign,
                                      cells=np.array([[k, i, j] for i, j in cells], dtype=np.intp), se=se))
            upper = rows < cols
            pairs = ", ".join(f"{countries[i]}-{countries[j]}" for i, j in zip(rows[upper], cols[upper]))
            how = (f"estimated AVEs by sector ({bloc.border_source}); the flat {bloc.border_cost:.0%} (assumed) "
                   "where an estimate is not significant or above max_border_ave" if bloc.border_estimates
                   else f"{bloc.border_cost:.0%} ad valorem equivalent (assumed)")
            notes.append(f"{bloc.name} customs checks {word} ({how}) between {pairs}")
    return terms, notes
