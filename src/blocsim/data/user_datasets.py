"""Model datasets built by the user (``blocsim data build NAME``): assemble and store them.

:func:`build_dataset` runs :mod:`blocsim.data.user_build` on the inputs, assembles the tables
of a model dataset (the Dataset contract's five plus the bilateral tariffs) and stores them in
``$BLOCSIM_HOME/store/datasets/NAME/`` (Parquet, as the bundled dataset v2, plus ``meta.json``).
:mod:`blocsim.data.built_datasets` lists and reads them back, so that
:func:`blocsim.data.load_dataset` loads one by name and a scenario names it
(``[data] dataset = "NAME"``) like a bundled dataset.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blocsim.data import user_build as ub
from blocsim.data.built_datasets import BUILD_MARKER, marker_text, sweep_stale_builds
from blocsim.data.loaders._io import check_unique, first_row, not_allowed, require_columns
from blocsim.data.staging import temp_name
from blocsim.errors import DataValidationError, StoreError


def importer_tariffs(bilateral: pd.DataFrame) -> pd.DataFrame:
    """The Dataset contract's per-importer ``tariffs`` table from bilateral rates.

    ``mfn`` (every importer, sector, year): the median over exporters outside the CIS free trade
    area of the importer's given (not assumed) rates, 0 flagged as an assumption when none is
    given; ``cet`` (union members from their first year, :data:`MEMBER_FROM`): the median over the
    founders present of their ``mfn`` rates, as in the v2 recipe's rule 3.

    Returns
    -------
    DataFrame
        ``importer, sector, year, regime, rate, source`` (rate an ad valorem fraction).
    """
    from blocsim.data.eaeu_v2.tariffs import CIS_FTA, FOUNDERS, MEMBER_FROM

    keys = ["importer", "sector", "year"]
    outside = bilateral[~bilateral["exporter"].isin(list(CIS_FTA)) & (bilateral["flag"] != ub.ASSUMED)]
    median = outside.groupby(keys)["tariff"].median().rename("rate")
    cells = bilateral[keys].drop_duplicates().merge(median.reset_index(), on=keys, how="left")
    known = cells["rate"].notna()
    mfn = cells.assign(
        regime="mfn",
        rate=cells["rate"].fillna(0.0).round(6),
        source=np.where(known, "median over exporters outside the CIS FTA of the importer's given tariffs",
                        "assumption: no tariff given for this importer, sector and year; 0"),
    )
    founders = mfn[mfn["importer"].isin(FOUNDERS)]
    parts = [mfn]
    if not founders.empty:
        cet = founders.groupby(["sector", "year"])["rate"].median().round(6).rename("rate").reset_index()
        present = ", ".join(sorted(founders["importer"].unique()))
        members = mfn[[c in MEMBER_FROM and y >= MEMBER_FROM[c] for c, y in zip(mfn["importer"], mfn["year"])]]
        cet_rows = members[keys].merge(cet, on=["sector", "year"]).assign(
            regime="cet", source=f"common external tariff: median over {present} of their mfn rates")
        parts.append(cet_rows)
        parts.append(_kazakhstan_applied(mfn, cet_rows))
    table = pd.concat(parts, ignore_index=True)[["importer", "sector", "year", "regime", "rate", "source"]]
    return table.sort_values(["importer", "sector", "year", "regime"], kind="stable", ignore_index=True)


def _kazakhstan_applied(mfn: pd.DataFrame, cet_rows: pd.DataFrame) -> pd.DataFrame:
    """Kazakhstan's ``applied`` rows (the policy library's exemption reads them): the CET, and from
    :data:`~blocsim.data.eaeu_v2.tariffs.KAZ_WTO_FROM` its own ``mfn`` rate where that is lower (its
    WTO commitments), as in the v2 recipe."""
    from blocsim.data.eaeu_v2.tariffs import KAZ_WTO_FROM

    keys = ["importer", "sector", "year"]
    kaz = cet_rows[cet_rows["importer"] == "KAZ"].merge(mfn[keys + ["rate"]], on=keys, suffixes=("", "_own"))
    lower = (kaz["year"] >= KAZ_WTO_FROM) & (kaz["rate_own"] < kaz["rate"])
    return kaz.assign(
        regime="applied", rate=np.where(lower, kaz["rate_own"], kaz["rate"]),
        source=np.where(lower, "Kazakhstan's own mfn rate, below the CET (WTO commitments, from "
                        f"{KAZ_WTO_FROM})", kaz["source"]),
    ).drop(columns="rate_own")


def _bundled_v2() -> Any:
    from blocsim.data.datasets import load_dataset

    return load_dataset("eaeu-2022v2")


def countries_table(regions: list[str], reference: pd.DataFrame) -> pd.DataFrame:
    """``iso3, name, group, lat, lon``: names from ISO 3166 (or blocsim's aggregates), coordinates from
    the bundled dataset v2 where it has the region (else empty); group ``member`` for the EAEU members."""
    from blocsim.data.countries import country_name
    from blocsim.data.eaeu_v2.covariates import MEMBERS

    coordinates = reference.set_index("iso3")[["lat", "lon"]]
    rows = []
    for code in regions:
        lat, lon = coordinates.loc[code] if code in coordinates.index else (np.nan, np.nan)
        group = "member" if code in MEMBERS else ("rest" if code == "ROW" else "partner")
        rows.append((code, country_name(code), group, float(lat), float(lon)))
    return pd.DataFrame(rows, columns=["iso3", "name", "group", "lat", "lon"])


def gravity_table(regions: list[str], years: list[int], reference: pd.DataFrame) -> pd.DataFrame:
    """``exporter, importer, year, dist, contig, comlang, colony, cu, fta`` for every pair and year.

    Time-invariant covariates (km, 0/1) from the bundled dataset v2 where it has the pair (empty
    otherwise); ``cu`` and ``fta`` by the v2 recipe's agreements and dates
    (:func:`blocsim.data.eaeu_v2.covariates.agreement_flags`)."""
    from blocsim.data.eaeu_v2.covariates import agreement_flags

    static = reference.drop_duplicates(["exporter", "importer"])[
        ["exporter", "importer", "dist", "contig", "comlang", "colony"]]
    grid = pd.MultiIndex.from_product([regions, regions, years], names=["exporter", "importer", "year"])
    table = grid.to_frame(index=False).merge(static, on=["exporter", "importer"], how="left")
    pairs = list(zip(table["exporter"], table["importer"], table["year"]))
    flags = np.array([agreement_flags(e, i, y) if e != i else (0, 0) for e, i, y in pairs],
                     dtype="int64").reshape(-1, 2)
    table["year"] = table["year"].astype("int64")
    return table.assign(cu=flags[:, 0], fta=flags[:, 1])


def sectors_table(codes: list[str], given: tuple[pd.DataFrame, str, int] | None,
                  reference: pd.DataFrame) -> pd.DataFrame:
    """``sector, name, description, goods``: from ``--sectors`` (``given``, as :func:`~blocsim.data.user_build.
    read_input` returns it; columns ``sector, name[, description, goods]``, one row per sector), else from the
    bundled datasets for their codes (``reference``: the sectors table of v2, ICIO codes; then the broad
    sectors of v1), else the code itself as the name (a goods sector)."""
    from blocsim.data.datasets import load_dataset

    known = pd.concat([reference, load_dataset("eaeu-2016v1").sectors.assign(
        goods=lambda t: t["sector"] != "other")], ignore_index=True).drop_duplicates("sector").set_index("sector")
    if given is not None:
        source = ub.source_of(given[1], given[2])
        table = given[0].reset_index(drop=True)
        require_columns(table, ("sector", "name"), source, what="sectors", optional=("description", "goods"))
        table["sector"] = table["sector"].astype(str).str.strip()
        pos = first_row(~table["sector"].isin(codes))
        if pos is not None:
            raise source.error(pos, "sector", not_allowed(table["sector"].loc[pos], f"a sector of the flows: "
                                                          f"{', '.join(codes)}"))
        check_unique(table, ["sector"], source)
        if "goods" in table.columns:
            goods = table["goods"].astype(str).str.strip().str.lower()
            pos = first_row(~goods.isin(["true", "false", "1", "0"]))
            if pos is not None:
                raise source.error(pos, "goods", not_allowed(table["goods"].loc[pos], "true or false"))
            table["goods"] = goods.isin(["true", "1"])
        known = table.set_index("sector")
    rows = []
    for code in codes:
        if code in known.index:
            entry = known.loc[code]
            rows.append((code, str(entry.get("name", code)), str(entry.get("description", "") or ""),
                         bool(entry.get("goods", True))))
        else:
            rows.append((code, code, "", True))
    return pd.DataFrame(rows, columns=["sector", "name", "description", "goods"])


def assemble(flows_in: tuple[pd.DataFrame, str, int], tariffs_in: tuple[pd.DataFrame, str, int] | None,
             sectors_in: tuple[pd.DataFrame, str, int] | None, name: str) -> tuple[dict[str, pd.DataFrame],
                                                                                  dict[str, Any]]:
    """The tables (:data:`~blocsim.data.user_build.TABLE_NAMES`) and ``meta`` of a dataset built from inputs.

    Each input is ``(frame, label, first_row)`` as returned by :func:`~blocsim.data.user_build.read_input`.
    """
    flows, counts = ub.clean_flows(*flows_in)
    bilateral = ub.clean_tariffs(*(tariffs_in or (None, "", 1)), flows)
    regions = sorted(flows["exporter"].unique())
    years = sorted(int(y) for y in flows["year"].unique())
    codes = sorted(flows["sector"].unique())
    reference = _bundled_v2()
    tables = {
        "flows": flows,
        "gravity": gravity_table(regions, years, reference.gravity),
        "tariffs": importer_tariffs(bilateral),
        "countries": countries_table(regions, reference.countries),
        "sectors": sectors_table(codes, sectors_in, reference.sectors),
        "tariffs_bilateral": bilateral,
    }
    from blocsim.data.eaeu_v2.covariates import MEMBERS

    shares = bilateral["flag"].value_counts(normalize=True).round(6)
    meta = {
        "name": name,
        "title": f"{name}: built from {flows_in[1]}" + (f" with tariffs from {tariffs_in[1]}" if tariffs_in else ""),
        "recipe_version": ub.RECIPE_VERSION,
        "recipe": "blocsim data build NAME --flows ... [--tariffs ...] [--sectors ...] "
                  "(blocsim.data.user_datasets.build_dataset)",
        "years": years,
        "regions": regions,
        "members": [c for c in MEMBERS if c in regions],
        "sectors": codes,
        "goods_sectors": list(tables["sectors"].loc[tables["sectors"]["goods"], "sector"]),
        "units": {"trade": "USD millions, as given", "rate": "ad valorem fraction", "dist": "km"},
        "sources": [{"role": role, "input": spec[1]} for role, spec in
                    (("flows", flows_in), ("tariffs", tariffs_in), ("sectors", sectors_in)) if spec is not None],
        "methods": {"build": " ".join((ub.__doc__ or "").split())},
        "flags": ub.FLAG_LEGEND,
        "flows_counts": counts,
        "tariff_rows_share_by_flag": {str(k): float(v) for k, v in shares.items()},
        "tariff_proxy_flags": [ub.ASSUMED],
    }
    return tables, meta


def _write(tables: dict[str, pd.DataFrame], meta: dict[str, Any], folder: Path) -> None:
    """Write a dataset's tables and ``meta.json`` into the new folder ``folder``, its build marker first."""
    from blocsim.data.eaeu_v2.build import _write_parquet

    folder.mkdir(parents=True)
    (folder / BUILD_MARKER).write_text(marker_text(), encoding="utf-8")
    for table in ub.TABLE_NAMES:
        _write_parquet(tables[table], folder / f"{table}.parquet")
    text = json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    (folder / "meta.json").write_text(text, encoding="utf-8")


def check_name(name: str, home: str | os.PathLike[str] | None = None) -> None:
    """A built dataset's name: a store name (lower-case letters, digits, ``_``), not a bundled or
    imported dataset's name.

    Raises
    ------
    StoreError
        Naming the name and what is allowed.
    """
    from blocsim.data.datasets import BUNDLED
    from blocsim.data.store import NAME_PATTERN, Store

    if not NAME_PATTERN.fullmatch(name or ""):
        raise StoreError(f"NAME {name!r}: not a valid dataset name; allowed: lower-case letters, digits and '_', "
                         "starting with a letter (e.g. mydata)")
    if name in BUNDLED:
        raise StoreError(f"NAME {name!r} is a bundled dataset's name; choose another name")
    if name in set(Store(home).list()["name"]):
        raise StoreError(f"NAME {name!r} is the name of a dataset imported into the store; choose another name")


def build_dataset(name: str, flows: str, tariffs: str | None = None, sectors: str | None = None, *,
                  force: bool = False, home: str | os.PathLike[str] | None = None) -> ub.BuildResult:
    """Build model dataset ``name`` from ``flows`` (and ``tariffs``, ``sectors``) into the store.

    Parameters
    ----------
    name
        Dataset name (lower-case letters, digits, ``_``).
    flows, tariffs, sectors
        A CSV/Parquet file or the name of a dataset imported into the store (see the module
        :mod:`blocsim.data.user_build` for the columns).
    force
        Replace a built dataset of the same name (else refused).
    home
        Store root (default ``$BLOCSIM_HOME`` or ``~/.blocsim``).

    Raises
    ------
    DataValidationError
        Bad input (naming the file or stored dataset, row, column and value); nothing written.
    StoreError
        Bad or taken name, or an existing dataset without ``force``; nothing written.

    Notes
    -----
    The tables are written into a staging folder marked as blocsim's (with this process's
    PID) and renamed into place; staging folders that killed builds left are removed first
    (:func:`~blocsim.data.built_datasets.sweep_stale_builds`).
    """
    from blocsim.data.store import Store

    check_name(name, home)
    root = ub.built_root(home)
    target = root / name
    if target.exists() and not force:
        raise StoreError(f"dataset {name!r} already exists in the store at {root}; nothing was written: pass --force "
                         "to replace it, or choose another NAME")
    inputs = [ub.read_input(spec, option, home) if spec is not None else None
              for spec, option in ((flows, "--flows"), (tariffs, "--tariffs"), (sectors, "--sectors"))]
    if inputs[0] is None:
        raise DataValidationError("--flows: required; give a CSV or Parquet file or a stored dataset")
    tables, meta = assemble(inputs[0], inputs[1], inputs[2], name)
    root.mkdir(parents=True, exist_ok=True)
    sweep_stale_builds(home)
    staging = root / temp_name(name, "tmp")
    store = Store(home)
    try:
        _write(tables, meta, staging)
        with store._lock(exclusive=True):
            replaced = target.exists()
            if replaced and not force:
                raise StoreError(f"dataset {name!r} was created in the store meanwhile; nothing was written: pass "
                                 "--force to replace it")
            old = root / temp_name(name, "old")
            if replaced:
                os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    bilateral = tables["tariffs_bilateral"]
    return ub.BuildResult(name, target, len(meta["regions"]), len(meta["sectors"]), tuple(meta["years"]),
                          int((bilateral["flag"] == ub.ASSUMED).sum()), int(len(bilateral)), replaced)
