"""Ex-post test: the model's predicted changes in import shares against what later data show.

A scenario run from a pre-event data year predicts how each importer's imports of a sector
split between groups of sources (e.g. the union's other members against the rest of the world)
change. The data of a later year show how they did change. :func:`expost_errors` puts the two
side by side per importer, sector and source group, with the error of the model and that of the
naive forecast "no change"; :func:`expost_table` gives one row per importer and sector and
:func:`expost_summary` counts how often the model beats no change.

Definitions (all flows before tariffs, USD millions; domestic flows excluded):

- share of group ``g`` in importer ``m``'s imports of sector ``s``:
  ``sh_gms = sum_{i in g, i != m} X_ims / sum_{i != m} X_ims`` (a fraction, shown in percent);
- predicted change: ``sh(predicted) - sh(before)``, observed change: ``sh(observed) - sh(before)``,
  both in percentage points (pp);
- error of the model ``|predicted change - observed change|``, of no change ``|observed change|``
  (pp); per importer and sector, the mean over the source groups (with two groups both carry
  the same error, since the shares sum to one).

Cells (importer, sector) with no imports in any of the three tables, or less than
``min_imports`` in ``before``, have no share and are left out.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError

#: Columns a flow table must have.
FLOW_COLUMNS = ("exporter", "importer", "sector", "trade")
#: Group of every exporter that ``groups`` does not name.
DEFAULT_GROUP = "rest_of_world"


def _flows(frame: pd.DataFrame, argument: str) -> pd.DataFrame:
    """``frame``'s flow columns, checked (non-negative finite ``trade``)."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"argument {argument!r}: got {type(frame).__name__}; allowed: a DataFrame with "
                                  f"columns {', '.join(FLOW_COLUMNS)}")
    missing = [c for c in FLOW_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(f"argument {argument!r}: missing column(s) {missing}; allowed: a DataFrame with "
                                  f"columns {', '.join(FLOW_COLUMNS)} (USD millions)")
    trade = pd.to_numeric(frame["trade"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(trade) | (trade < 0)
    if bad.any():
        row = int(np.argmax(bad))
        value = frame["trade"].iloc[row]
        shown = value.item() if hasattr(value, "item") else value
        raise DataValidationError(f"argument {argument!r}: column 'trade' row {row} is {shown!r}; "
                                  "allowed: finite numbers >= 0 (USD millions)")
    out = frame[list(FLOW_COLUMNS)].copy()
    out["trade"] = trade
    return out


def import_shares(
    flows: pd.DataFrame,
    groups: Mapping[str, str],
    *,
    importers: Iterable[str],
    sectors: Iterable[str] | None = None,
    default_group: str = DEFAULT_GROUP,
) -> pd.DataFrame:
    """Each source group's share in each importer's imports of each sector.

    Parameters
    ----------
    flows
        ``exporter, importer, sector, trade`` (USD millions; domestic rows are ignored).
    groups
        Exporter ISO3 -> group label; exporters not named belong to ``default_group``.
    importers
        The importers to describe (ISO3).
    sectors
        The sectors to describe (default: every sector of ``flows``).
    default_group
        Label of the exporters ``groups`` does not name.

    Returns
    -------
    pandas.DataFrame
        One row per ``importer, sector, source`` (every group label, in the order of first
        appearance in ``groups`` and ``default_group`` last, for every importer and sector):
        ``imports`` (the group's imports, USD millions), ``total`` (the importer's imports of
        the sector from abroad, USD millions) and ``share`` (``imports / total``, a fraction;
        NaN when ``total`` is 0).
    """
    df = _flows(flows, "flows")
    wanted = [str(c) for c in importers]
    chosen = sorted(set(df["sector"].astype(str))) if sectors is None else [str(s) for s in sectors]
    labels = [g for g in dict.fromkeys(str(g) for g in groups.values()) if g != default_group] + [default_group]
    df = df[(df["exporter"] != df["importer"]) & df["importer"].isin(wanted) & df["sector"].astype(str).isin(chosen)]
    source = df["exporter"].map(lambda code: groups.get(code, default_group)).astype(str)
    summed = df.assign(source=source, sector=df["sector"].astype(str)).groupby(
        ["importer", "sector", "source"])["trade"].sum()
    index = pd.MultiIndex.from_product([wanted, chosen, labels], names=["importer", "sector", "source"])
    out = summed.reindex(index, fill_value=0.0).rename("imports").reset_index()
    out["total"] = out.groupby(["importer", "sector"])["imports"].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(out["total"] > 0, out["imports"] / out["total"].where(out["total"] > 0), np.nan)
    return out


def expost_errors(
    before: pd.DataFrame,
    predicted: pd.DataFrame,
    observed: pd.DataFrame,
    groups: Mapping[str, str],
    *,
    importers: Sequence[str],
    sectors: Sequence[str] | None = None,
    default_group: str = DEFAULT_GROUP,
    min_imports: float = 0.0,
) -> pd.DataFrame:
    """Predicted and observed changes of import shares, and the errors of the model and of no change.

    Parameters
    ----------
    before
        Flows of the pre-event year the model was solved from (``exporter, importer, sector,
        trade``, USD millions).
    predicted
        The model's counterfactual of ``before`` (same columns).
    observed
        Flows of the later year the prediction is checked against (same columns).
    groups, importers, sectors, default_group
        As for :func:`import_shares`.
    min_imports
        Cells whose imports in ``before`` are below this (USD millions) are left out.

    Returns
    -------
    pandas.DataFrame
        One row per ``importer, sector, source``: ``imports_before`` (the importer's imports of
        the sector in ``before``, USD millions), ``share_before_pct``, ``change_predicted_pp``,
        ``change_observed_pp``, ``error_model_pp`` (``|predicted - observed|``) and
        ``error_naive_pp`` (``|observed|``, the error of "no change").
    """
    if isinstance(min_imports, bool) or not isinstance(min_imports, (int, float)) or not min_imports >= 0:
        raise DataValidationError(f"argument 'min_imports': got {min_imports!r}; allowed: a number >= 0 (USD millions)")
    if isinstance(importers, str):
        raise DataValidationError(f"argument 'importers': got the string {importers!r}; allowed: a list of ISO3 codes")
    checked = {name: _flows(frame, name) for name, frame in
               (("before", before), ("predicted", predicted), ("observed", observed))}
    present = set(checked["before"]["importer"])
    unknown = [c for c in importers if c not in present]
    if unknown:
        raise DataValidationError(f"argument 'importers': {unknown} import nothing in 'before'; allowed: importers of "
                                  "the flow table")
    kwargs = {"importers": importers, "sectors": sectors, "default_group": default_group}
    tables = {name: import_shares(frame, groups, **kwargs) for name, frame in checked.items()}
    keys = ["importer", "sector", "source"]
    out = tables["before"][keys].copy()
    out["imports_before"] = tables["before"]["total"].to_numpy()
    share = {name: table["share"].to_numpy() for name, table in tables.items()}
    out["share_before_pct"] = 100 * share["before"]
    out["change_predicted_pp"] = 100 * (share["predicted"] - share["before"])
    out["change_observed_pp"] = 100 * (share["observed"] - share["before"])
    out["error_model_pp"] = (out["change_predicted_pp"] - out["change_observed_pp"]).abs()
    out["error_naive_pp"] = out["change_observed_pp"].abs()
    keep = np.isfinite(out[["change_predicted_pp", "change_observed_pp"]]).all(axis=1)
    keep &= out["imports_before"] >= min_imports
    return out[keep.to_numpy()].reset_index(drop=True)


def expost_table(errors: pd.DataFrame) -> pd.DataFrame:
    """One row per importer and sector from :func:`expost_errors`.

    Returns
    -------
    pandas.DataFrame
        ``importer, sector, imports_before`` (USD millions), for each source group ``g`` the
        columns ``share_<g>_before_pct`` (its share before, percent), ``predicted_<g>_pp`` and
        ``observed_<g>_pp`` (changes of its share, pp), then
        ``mae_model_pp`` and ``mae_naive_pp`` (mean absolute error over the groups, pp) and
        ``model_better`` (the model's error is strictly below that of no change).
    """
    keys = ["importer", "sector"]
    wide = errors.pivot_table(index=keys, columns="source", aggfunc="first", sort=False,
                              values=["share_before_pct", "change_predicted_pp", "change_observed_pp"])
    changes = {}
    for group in dict.fromkeys(errors["source"]):
        changes[f"share_{group}_before_pct"] = wide[("share_before_pct", group)]
        changes[f"predicted_{group}_pp"] = wide[("change_predicted_pp", group)]
        changes[f"observed_{group}_pp"] = wide[("change_observed_pp", group)]
    grouped = errors.groupby(keys, sort=False)
    out = pd.concat([grouped["imports_before"].first(), pd.DataFrame(changes),
                     grouped["error_model_pp"].mean().rename("mae_model_pp"),
                     grouped["error_naive_pp"].mean().rename("mae_naive_pp")], axis=1).reset_index()
    out["model_better"] = out["mae_model_pp"] < out["mae_naive_pp"]
    return out


def expost_summary(table: pd.DataFrame, by: Sequence[str] = ("importer",)) -> pd.DataFrame:
    """How often and by how much the model beats no change, per group of :func:`expost_table` rows.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``by`` and a last row ``all`` (``by`` columns set to ``"all"``):
        ``cells`` (importer-sector rows), ``model_better`` (rows where the model's error is
        below no change's), ``share_better`` (their fraction), ``mae_model_pp`` and
        ``mae_naive_pp`` (means over the rows, pp) and ``wmae_model_pp``, ``wmae_naive_pp``
        (the same weighted by ``imports_before``).
    """
    columns = list(by)

    def stats(part: pd.DataFrame) -> dict[str, float]:
        weight = part["imports_before"].to_numpy(dtype=float)
        total = weight.sum()
        return {
            "cells": int(len(part)), "model_better": int(part["model_better"].sum()),
            "share_better": float(part["model_better"].mean()) if len(part) else float("nan"),
            "mae_model_pp": float(part["mae_model_pp"].mean()), "mae_naive_pp": float(part["mae_naive_pp"].mean()),
            "wmae_model_pp": float(weight @ part["mae_model_pp"].to_numpy() / total) if total > 0 else float("nan"),
            "wmae_naive_pp": float(weight @ part["mae_naive_pp"].to_numpy() / total) if total > 0 else float("nan"),
        }

    rows = [{**dict(zip(columns, key if isinstance(key, tuple) else (key,))), **stats(part)}
            for key, part in table.groupby(columns, sort=False)]
    rows.append({**{c: "all" for c in columns}, **stats(table)})
    return pd.DataFrame(rows)
