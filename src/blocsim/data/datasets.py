"""Bundled datasets: the tables blocsim runs on from a fresh install.

``load_dataset("eaeu")`` (the default, also named ``"eaeu-2022v2"``) returns EAEU dataset v2
(``blocsim/data/eaeu_v2/tables/``, Parquet, OECD ICIO 2011-2022 with 85 regions and 28 sectors,
built by :func:`blocsim.data.eaeu_v2.build.build_eaeu_v2`); ``load_dataset("eaeu-2016v1")`` the
earlier 18-region, 4-sector tables (``blocsim/data/eaeu/tables/``, CSV, built by
:func:`blocsim.data.eaeu.build.build_eaeu`), kept so that earlier runs stay reproducible
(see :data:`BUNDLED`; :attr:`Dataset.version` says which tables a name loaded). ``DATA.md``
documents both.
The tables are read once per process and every call returns fresh copies, so callers may
modify what they get. Tables beyond the five of the contract (v2: bilateral tariffs, CET,
remittances, duty-pool facts) are in :attr:`Dataset.extra`.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.data.gravity import GravityData
from blocsim.errors import DataValidationError

#: Bundled datasets: name -> package holding a ``tables/`` folder (CSV or Parquet files).
#: ``eaeu`` names the default EAEU dataset, v2; ``eaeu-2016v1`` the earlier tables.
BUNDLED: dict[str, str] = {
    "eaeu": "blocsim.data.eaeu_v2",
    "eaeu-2016v1": "blocsim.data.eaeu",
    "eaeu-2022v2": "blocsim.data.eaeu_v2",
}
#: Extra tables of a bundled dataset (read when present): export file name -> table file stem.
EXTRA_TABLES: dict[str, str] = {
    "tariffs": "tariffs_bilateral",
    "tariffs_external": "tariffs",
    "cet": "cet",
    "remittances": "remittances",
    "duties": "duties",
    "small_member_totals": "small_member_totals",
    "national_totals": "national_totals",
    "customs_gap": "customs_gap",
    "tariff_check": "tariff_check",
}

_DTYPES: dict[str, dict[str, Any]] = {
    "flows": {
        "exporter": str,
        "importer": str,
        "sector": str,
        "year": "int64",
        "trade": "float64",
        "imputed": str,
    },
    "gravity": {"exporter": str, "importer": str, "year": "int64"},
    "tariffs": {
        "importer": str,
        "sector": str,
        "year": "int64",
        "regime": str,
        "rate": "float64",
        "source": str,
    },
    "countries": {"iso3": str, "name": str, "group": str, "lat": "float64", "lon": "float64"},
    "sectors": {"sector": str, "name": str, "description": str},
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "flows": ("exporter", "importer", "sector", "year", "trade", "imputed"),
    "gravity": ("exporter", "importer", "year", "dist", "contig", "comlang", "colony", "cu", "fta"),
    "tariffs": ("importer", "sector", "year", "regime", "rate", "source"),
    "countries": ("iso3", "name", "group", "lat", "lon"),
    "sectors": ("sector", "name", "description"),
}
TABLE_NAMES: tuple[str, ...] = tuple(_COLUMNS)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A complete baseline dataset: sectoral flows incl. domestic, covariates, tariffs.

    Attributes
    ----------
    name : str
        Dataset name (e.g. ``"eaeu"``).
    flows : DataFrame
        ``exporter, importer, sector, year, trade, imputed``: USD millions, domestic flows
        (exporter == importer) included; ``imputed`` is a ``+``-joined method flag (legend in
        ``meta["flags"]``), empty only for cells copied unchanged from a source.
    gravity : DataFrame
        ``exporter, importer, year, dist, contig, comlang, colony, cu, fta, ...`` (dist in km).
    tariffs : DataFrame
        ``importer, sector, year, regime, rate, source``; regime in {"mfn", "cet", "applied"},
        rate an ad valorem fraction; ``source`` starts with ``"assumption: "`` where the rate is
        not a published figure for that cell.
    countries : DataFrame
        ``iso3, name, group, lat, lon``.
    sectors : DataFrame
        ``sector, name, description``.
    meta : dict
        Sources, licenses, methods, assumptions, recipe version.
    extra : dict of str to DataFrame
        Further tables, keyed by the CSV name ``blocsim data export`` writes them under (v2:
        ``tariffs`` = bilateral ``importer, exporter, sector, year, tariff, source, flag``;
        ``tariffs_external`` = the contract table above; ``cet``; ``remittances``; ``duties``).
    """

    name: str
    flows: pd.DataFrame
    gravity: pd.DataFrame
    tariffs: pd.DataFrame
    countries: pd.DataFrame
    sectors: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def version(self) -> dict[str, str]:
        """Which tables this is: ``{"tables": <versioned name>, "recipe_version": <str>}``.

        ``tables`` is the versioned name of the tables (``eaeu-2022v2`` for ``eaeu``; for a
        dataset that is not bundled, its ``meta["name"]`` or its name); ``recipe_version`` the
        version of the recipe that built them (empty if unknown). ``run.json`` records both.
        """
        versioned = [k for k, package in BUNDLED.items() if k != "eaeu" and package == BUNDLED.get(self.name)]
        tables = versioned[0] if versioned else str(self.meta.get("name") or self.name)
        return {"tables": tables, "recipe_version": str(self.meta.get("recipe_version", ""))}

    @property
    def years(self) -> tuple[int, ...]:
        """Years present in :attr:`flows`."""
        return tuple(sorted(int(y) for y in self.flows["year"].unique()))

    @property
    def regions(self) -> tuple[str, ...]:
        """Region codes in the dataset's order (:attr:`countries`)."""
        return tuple(self.countries["iso3"])

    def total_flows(self, year: int | None = None) -> pd.DataFrame:
        """Flows summed over sectors.

        Parameters
        ----------
        year
            Keep one year (``None``: all years).

        Returns
        -------
        DataFrame
            ``exporter, importer, year, trade`` (USD millions).
        """
        flows = self.flows if year is None else self.flows[self.flows["year"] == self._year(year)]
        return flows.groupby(["exporter", "importer", "year"], as_index=False, sort=False)["trade"].sum()

    def gravity_data(self, year: int | None = None, *, sectoral: bool = False) -> GravityData:
        """Validated :class:`~blocsim.data.GravityData` of the flows with the covariates joined.

        Parameters
        ----------
        year
            Keep one year (``None``: the whole panel, with a ``year`` column).
        sectoral
            Keep the ``sector`` dimension (default: flows summed over sectors).
        """
        if sectoral:
            flows = self.flows if year is None else self.flows[self.flows["year"] == self._year(year)]
            flows = flows.drop(columns="imputed")
        else:
            flows = self.total_flows(year)
        covariates = [c for c in self.gravity.columns if c not in ("exporter", "importer", "year")]
        frame = flows.merge(
            self.gravity, on=["exporter", "importer", "year"], how="left", validate="many_to_one"
        )
        if year is not None:
            frame = frame.drop(columns="year")
        return GravityData.from_frame(
            frame,
            year=None if year is not None else "year",
            sector="sector" if sectoral else None,
            covariates=covariates,
            source=f"dataset {self.name!r}",
        )

    def write_csv(self, out_dir: Path) -> list[Path]:
        """Write every table as ``<table>.csv`` plus ``meta.json`` into ``out_dir``.

        Returns
        -------
        list of Path
            Files written.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for table in TABLE_NAMES:
            path = out_dir / f"{table}.csv"
            getattr(self, table).to_csv(path, index=False, lineterminator="\n")
            written.append(path)
        path = out_dir / "meta.json"
        path.write_text(json.dumps(self.meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return [*written, path]

    def _year(self, year: int) -> int:
        if int(year) not in self.years:
            raise DataValidationError(
                f"dataset {self.name!r}: argument year={year!r} is not in the dataset; allowed: "
                f"{list(self.years)}"
            )
        return int(year)


def _read_table(folder: Any, table: str) -> pd.DataFrame | None:
    """One bundled table from ``<table>.parquet`` or ``<table>.csv`` (``None`` if neither exists)."""
    parquet = folder.joinpath(f"{table}.parquet")
    if parquet.is_file():
        with parquet.open("rb") as handle:
            return pd.read_parquet(handle)
    csv = folder.joinpath(f"{table}.csv")
    if not csv.is_file():
        return None
    with csv.open("r", encoding="utf-8") as handle:
        return pd.read_csv(
            handle, dtype=_DTYPES[table], keep_default_na=False, na_values={"lat": [""], "lon": [""]}
        )


@functools.lru_cache(maxsize=4)
def _read_bundled(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any], dict[str, pd.DataFrame]]:
    folder = resources.files(BUNDLED[name]).joinpath("tables")
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLE_NAMES:
        frame = _read_table(folder, table)
        missing = list(_COLUMNS[table]) if frame is None else [c for c in _COLUMNS[table] if c not in frame.columns]
        if frame is None or missing:
            raise DataValidationError(
                f"bundled dataset {name!r}: table {table} lacks columns {missing}; fix: rebuild it with "
                "`blocsim data build-eaeu --from DIR`"
            )
        tables[table] = frame
    extra: dict[str, pd.DataFrame] = {}
    if folder.joinpath("flows.parquet").is_file():
        for export_name, stem in EXTRA_TABLES.items():
            frame = tables[stem] if stem in tables else _read_table(folder, stem)
            if frame is not None:
                extra[export_name] = frame
    with folder.joinpath("meta.json").open("r", encoding="utf-8") as handle:
        meta = json.load(handle)
    return tables, meta, extra


def load_dataset(name: str = "eaeu", home: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a bundled dataset, or one built into the store with ``blocsim data build``.

    Parameters
    ----------
    name
        Dataset name; see :func:`list_datasets` (bundled: ``"eaeu"``) and
        :func:`blocsim.data.built_datasets.list_built` (built into the store).
    home
        Store root for built datasets (default ``$BLOCSIM_HOME`` or ``~/.blocsim``).

    Returns
    -------
    Dataset
        Fresh copies of the tables (reading a bundled dataset from disk happens once per
        process; a built dataset is read on every call).

    Raises
    ------
    DataValidationError
        Unknown name (the message lists the available ones).
    """
    if name not in BUNDLED:
        from blocsim.data.built_datasets import built_names, read_built

        built = read_built(name, home)
        if built is not None:
            tables, meta, extra = built
            return Dataset(name=name, meta=meta, extra=extra, **tables)
        raise DataValidationError(
            f"load_dataset: argument name={name!r} is not a bundled dataset; allowed: {sorted(BUNDLED)}"
            f"{', or a dataset built into the store: ' + str(built_names(home)) if built_names(home) else ''}; "
            "fix: use one of them, or build one from imported data with `blocsim data build NAME --flows ...` "
            "(`blocsim data list`)"
        )
    tables, meta, extra = _read_bundled(name)
    copies = {table: frame.copy() for table, frame in tables.items()}
    extras = {table: frame.copy() for table, frame in extra.items()}
    return Dataset(name=name, meta=json.loads(json.dumps(meta)), extra=extras, **copies)


def list_datasets() -> list[dict[str, Any]]:
    """Describe the bundled datasets.

    Returns
    -------
    list of dict
        One dict per dataset with ``name, title, years, countries, sectors, source`` (a short
        summary of the sources), ``rows``, ``region_count``, ``sector_count`` and ``origin``
        (``"bundled"``).
    """
    out = []
    for name in sorted(BUNDLED):
        tables, meta, _ = _read_bundled(name)
        out.append(
            {
                "name": name,
                "title": meta["title"],
                "years": list(meta["years"]),
                "countries": list(meta["regions"]),
                "sectors": list(meta["sectors"]),
                "source": "; ".join(sorted({s["file"].split("/")[0] for s in meta["sources"]})),
                "rows": {table: int(len(frame)) for table, frame in tables.items()},
                "region_count": len(meta["regions"]),
                "sector_count": len(meta["sectors"]),
                "origin": "bundled",
            }
        )
    return out
