"""Bundled datasets: the tables blocsim runs on from a fresh install.

``load_dataset("eaeu")`` returns the Eurasian Economic Union dataset shipped inside the
package (``blocsim/data/eaeu/tables/``, built by :func:`blocsim.data.eaeu.build.build_eaeu`
from the original public files; see ``DATA.md``). The tables are read once per process and
every call returns fresh copies, so callers may modify what they get.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.data.gravity import GravityData
from blocsim.errors import DataValidationError

#: Bundled datasets: name -> package holding a ``tables/`` folder.
BUNDLED: dict[str, str] = {"eaeu": "blocsim.data.eaeu"}

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
    """

    name: str
    flows: pd.DataFrame
    gravity: pd.DataFrame
    tariffs: pd.DataFrame
    countries: pd.DataFrame
    sectors: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

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


@functools.lru_cache(maxsize=4)
def _read_bundled(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    folder = resources.files(BUNDLED[name]).joinpath("tables")
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLE_NAMES:
        with folder.joinpath(f"{table}.csv").open("r", encoding="utf-8") as handle:
            frame = pd.read_csv(
                handle, dtype=_DTYPES[table], keep_default_na=False, na_values={"lat": [""], "lon": [""]}
            )
        missing = [c for c in _COLUMNS[table] if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"bundled dataset {name!r}: {table}.csv lacks columns {missing}; fix: rebuild it with "
                "`blocsim data build-eaeu --from DIR`"
            )
        tables[table] = frame
    with folder.joinpath("meta.json").open("r", encoding="utf-8") as handle:
        meta = json.load(handle)
    return tables, meta


def load_dataset(name: str = "eaeu") -> Dataset:
    """Load a bundled dataset.

    Parameters
    ----------
    name
        Dataset name; see :func:`list_datasets` (bundled: ``"eaeu"``).

    Returns
    -------
    Dataset
        Fresh copies of the tables (reading from disk happens once per process).

    Raises
    ------
    DataValidationError
        Unknown name (the message lists the available ones).
    """
    if name not in BUNDLED:
        raise DataValidationError(
            f"load_dataset: argument name={name!r} is not a bundled dataset; allowed: {sorted(BUNDLED)}; "
            "fix: use one of them (imported datasets live in the store: `blocsim data list`)"
        )
    tables, meta = _read_bundled(name)
    copies = {table: frame.copy() for table, frame in tables.items()}
    return Dataset(name=name, meta=json.loads(json.dumps(meta)), **copies)


def list_datasets() -> list[dict[str, Any]]:
    """Describe the bundled datasets.

    Returns
    -------
    list of dict
        One dict per dataset with ``name, title, years, countries, sectors, source`` (a short
        summary of the sources) and ``origin`` (``"bundled"``).
    """
    out = []
    for name in sorted(BUNDLED):
        tables, meta = _read_bundled(name)
        out.append(
            {
                "name": name,
                "title": meta["title"],
                "years": list(meta["years"]),
                "countries": list(meta["regions"]),
                "sectors": list(meta["sectors"]),
                "source": "; ".join(sorted({s["file"].split("/")[0] for s in meta["sources"]})),
                "rows": {table: int(len(frame)) for table, frame in tables.items()},
                "origin": "bundled",
            }
        )
    return out
