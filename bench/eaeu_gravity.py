"""Gravity regressions on the bundled EAEU panel (2008, 2012, 2016), for DATA.md.

Run: ``.venv/bin/python bench/eaeu_gravity.py``. Prints the customs-union (``cu``) and FTA
coefficients with pair-clustered standard errors for three PPML specifications:

1. domestic + international flows, exporter-year, importer-year and directed-pair fixed
   effects plus international-border x year dummies (Yotov et al. 2016, ch. 1, app. 3);
2. the same without the border x year dummies;
3. international flows only, exporter-year and importer-year fixed effects with CEPII
   covariates (log distance, contiguity, common language, colony).

Specification 1 is re-estimated with ``blocsim.estimate_gravity`` when it is importable, as a
cross-check of the pyfixest call. Nothing is tuned: the numbers are what the data give.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyfixest as pf

from blocsim.data import load_dataset


def panel() -> pd.DataFrame:
    """Total flows (summed over sectors) joined with the covariates, with FE identifiers."""
    ds = load_dataset("eaeu")
    frame = ds.total_flows().merge(ds.gravity, on=["exporter", "importer", "year"], validate="one_to_one")
    frame["exp_year"] = frame["exporter"] + "_" + frame["year"].astype(str)
    frame["imp_year"] = frame["importer"] + "_" + frame["year"].astype(str)
    frame["pair"] = frame["exporter"] + "_" + frame["importer"]
    frame["ln_dist"] = np.log(frame["dist"])
    for year in (2012, 2016):
        frame[f"intl_{year}"] = frame["international"] * (frame["year"] == year)
    return frame


def _row(label: str, fit: pf.Fepois, n: int) -> list[str]:
    coef, se = fit.coef(), fit.se()
    cells = [label, str(n)]
    for name in ("cu", "fta"):
        cells.append(f"{coef[name]:.4f} ({se[name]:.4f})")
    cells.append(f"{np.exp(coef['cu']) - 1:+.1%}")
    return cells


def main() -> None:
    """Estimate the three specifications and print a Markdown table."""
    data = panel()
    intl = data[data["international"] == 1]
    specs = [
        (
            "(1) dom+intl, exp-year, imp-year, pair FE, border x year",
            "trade ~ cu + fta + intl_2012 + intl_2016 | exp_year + imp_year + pair",
            data,
        ),
        ("(2) dom+intl, exp-year, imp-year, pair FE", "trade ~ cu + fta | exp_year + imp_year + pair", data),
        (
            "(3) intl only, exp-year, imp-year FE, CEPII covariates",
            "trade ~ cu + fta + ln_dist + contig + comlang + colony | exp_year + imp_year",
            intl,
        ),
    ]
    rows = []
    fits = {}
    for label, formula, frame in specs:
        start = time.perf_counter()
        fit = pf.fepois(formula, data=frame, vcov={"CRV1": "pair"})
        fits[label] = fit
        rows.append(_row(label, fit, int(fit._N)) + [f"{time.perf_counter() - start:.2f}"])
    header = ["specification", "N", "cu coef (s.e.)", "fta coef (s.e.)", "exp(cu)-1", "seconds"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    third = fits[specs[2][0]]
    print()
    print(
        "spec (3) covariates: "
        + ", ".join(f"{k} {v:.4f} ({third.se()[k]:.4f})" for k, v in third.coef().items())
    )
    try:
        from blocsim import estimate_gravity
    except ImportError:  # the estimation stage is optional for this script
        return
    res = estimate_gravity(
        data,
        covariates=["cu", "fta", "intl_2012", "intl_2016"],
        year="year",
        fixed_effects="exporter_year-importer_year+pair",
        cluster="pair",
    )
    frame = res.to_frame() if hasattr(res, "to_frame") else None
    print()
    print("cross-check, blocsim.estimate_gravity spec (1):")
    print(frame if frame is not None else res)


if __name__ == "__main__":
    main()
