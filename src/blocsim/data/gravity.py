"""A validated, square gravity table: bilateral flows incl. domestic flows, plus cost covariates.

:class:`GravityData` is the boundary object between raw trade tables and the models: once
built, every (exporter, importer) pair of every (year, sector) exists exactly once, flows are
finite and non-negative, domestic flows are present, and column names follow
:mod:`blocsim.data.schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from blocsim.data import schema
from blocsim.data.schema import format_rows
from blocsim.errors import DataValidationError

ExtraColumns = Literal["error", "drop"]
_EXTRA_ALLOWED: tuple[str, ...] = ("error", "drop")


@dataclass(frozen=True, eq=False)
class GravityData:
    """Square trade table (``exporter x importer [x year] [x sector]``) with cost covariates.

    Build it with :meth:`from_frame`; the constructor does no checking.

    Attributes
    ----------
    countries : tuple of str
        Sorted country codes; the order of rows and columns of :meth:`matrix`.
    covariates : tuple of str
        Cost covariate columns carried along (e.g. ``ln_DIST``, ``CNTG``).
    years : tuple of int
        Years present (empty if the table has no year column).
    sectors : tuple of str
        Sectors present (empty if the table has no sector column).
    source : str
        Name of the input in messages (argument or file name).
    """

    _frame: pd.DataFrame
    countries: tuple[str, ...]
    covariates: tuple[str, ...]
    years: tuple[int, ...]
    sectors: tuple[str, ...]
    source: str = "df"

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        exporter: str = schema.EXPORTER,
        importer: str = schema.IMPORTER,
        flow: str = schema.FLOW,
        year: str | None = None,
        sector: str | None = None,
        covariates: Sequence[str] = (),
        extra: ExtraColumns = "error",
        source: str = "df",
    ) -> GravityData:
        """Validate ``df`` and return an immutable :class:`GravityData`.

        Parameters
        ----------
        df
            Long table with one row per ``(exporter, importer[, year][, sector])``.
        exporter, importer
            Columns with ISO3 codes of origin and destination.
        flow
            Column with flows in current USD millions (>= 0, finite, at most
            :data:`blocsim.data.schema.MAX_FLOW`, no NaN).
        year, sector
            Optional panel dimensions. Every (year, sector) slice must be square over the
            same set of countries.
        covariates
            Numeric cost covariates to keep (no NaN or infinite values).
        extra
            What to do with columns not named by any argument: ``"error"`` (default) raises,
            ``"drop"`` discards them.
        source
            Name of the input used in error messages (e.g. a file path).

        Returns
        -------
        GravityData
            Frame columns ``exporter, importer, [year], [sector], trade, <covariates>``,
            sorted by ``[year], [sector], exporter, importer``.

        Raises
        ------
        DataValidationError
            Unknown or missing columns, non-numeric / NaN / negative / infinite flows, flows
            above :data:`blocsim.data.schema.MAX_FLOW`, NaN or infinite covariates, duplicate
            pairs, missing domestic flows or a non-square table. The
            message names the column, the first offending rows and a fix.
        """
        if extra not in _EXTRA_ALLOWED:
            raise DataValidationError(
                f"{source}: argument extra={extra!r} is not allowed; allowed values: {list(_EXTRA_ALLOWED)}"
            )
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(
                f"{source}: expected a pandas DataFrame, got {type(df).__name__}; fix: pass "
                f"pandas.read_csv(path) or a DataFrame"
            )
        if isinstance(covariates, str):
            covariates = (covariates,)
        covariates = tuple(covariates)
        roles: dict[str, str] = {"exporter": exporter, "importer": importer, "flow": flow}
        if year is not None:
            roles["year"] = year
        if sector is not None:
            roles["sector"] = sector
        roles.update({f"covariates[{k}]": name for k, name in enumerate(covariates)})
        schema.require_columns(df, roles, source=source)
        _require_distinct_roles(roles, source=source)
        unknown = schema.unknown_names(map(str, df.columns), roles.values())
        if unknown and extra == "error":
            raise DataValidationError(
                f"{source}: unknown columns {unknown}; the table may hold only exporter={exporter!r}, "
                f"importer={importer!r}, flow={flow!r}, year, sector and declared covariates; fix: "
                f"declare them with covariates=[...] or pass extra='drop' to discard them"
            )

        covariates = tuple(dict.fromkeys(covariates))
        standard = {exporter: schema.EXPORTER, importer: schema.IMPORTER, flow: schema.FLOW}
        keys = [exporter, importer]
        if year is not None:
            standard[year] = schema.YEAR
            keys.insert(0, year)
        if sector is not None:
            standard[sector] = schema.SECTOR
            keys.insert(1 if year is not None else 0, sector)
        clash = [name for name in covariates if name in standard.values()]
        if clash:
            raise DataValidationError(
                f"{source}: covariate column {clash[0]!r} clashes with a standard column name "
                f"{list(standard.values())}; fix: rename it before building the table"
            )
        frame = df.loc[:, [*standard, *covariates]].reset_index(drop=True)
        for column in (exporter, importer, *([sector] if sector is not None else [])):
            schema.require_country_codes(frame, column, source=source)
        if year is not None:
            _check_year(frame, year, keys, source=source)
        _check_flow(frame, flow, keys, source=source)
        for name in covariates:
            schema.require_numeric(frame, name, source=source, keys=keys)
        _check_duplicates(frame, keys, flow, source=source)
        countries = _check_square(frame, keys, exporter, importer, source=source)

        keys = [standard[key] for key in keys]
        order = [schema.EXPORTER, schema.IMPORTER, *[k for k in (schema.YEAR, schema.SECTOR) if k in keys]]
        frame = frame.rename(columns=standard).loc[:, [*order, schema.FLOW, *covariates]]
        frame[schema.FLOW] = frame[schema.FLOW].astype(float)
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
        years = tuple(int(v) for v in np.unique(frame[schema.YEAR])) if year is not None else ()
        sectors = tuple(sorted(map(str, frame[schema.SECTOR].unique()))) if sector is not None else ()
        return cls(frame, countries, covariates, years, sectors, source)

    @property
    def frame(self) -> pd.DataFrame:
        """The validated long table (a copy; edits do not change this object)."""
        return self._frame.copy()

    @property
    def n_countries(self) -> int:
        """Number of countries N."""
        return len(self.countries)

    def matrix(
        self, year: int | None = None, sector: str | None = None, *, column: str = schema.FLOW
    ) -> np.ndarray:
        """Return one (year, sector) slice as an (N, N) array in :attr:`countries` order.

        Parameters
        ----------
        year, sector
            Slice to return; required when the table has more than one year / sector.
        column
            ``"trade"`` (default, USD millions) or a covariate name.

        Returns
        -------
        numpy.ndarray
            Shape (N, N), float64; rows are exporters, columns importers.
        """
        if column != schema.FLOW and column not in self.covariates:
            raise DataValidationError(
                f"{self.source}: matrix(column={column!r}) is not a column of this table; allowed: "
                f"{[schema.FLOW, *self.covariates]}"
            )
        mask = np.ones(len(self._frame), dtype=bool)
        for name, value, present in (("year", year, self.years), ("sector", sector, self.sectors)):
            if not present:
                if value is not None:
                    raise DataValidationError(
                        f"{self.source}: matrix({name}={value!r}) but the table has no {name} column; "
                        f"fix: call matrix() without {name}="
                    )
                continue
            if value is None:
                if len(present) > 1:
                    raise DataValidationError(
                        f"{self.source}: the table has {len(present)} values of {name}; fix: pass "
                        f"matrix({name}=...) with one of {list(present)}"
                    )
                continue
            if value not in present:
                raise DataValidationError(
                    f"{self.source}: matrix({name}={value!r}) not in the table; allowed: {list(present)}"
                )
            mask &= (self._frame[name] == value).to_numpy()
        n = self.n_countries
        return self._frame.loc[mask, column].to_numpy(dtype=float).reshape(n, n)

    def output(self, year: int | None = None, sector: str | None = None) -> np.ndarray:
        """Output Y_i = sum_j X_ij of one slice, shape (N,), USD millions."""
        return self.matrix(year, sector).sum(axis=1)

    def expenditure(self, year: int | None = None, sector: str | None = None) -> np.ndarray:
        """Expenditure E_j = sum_i X_ij of one slice, shape (N,), USD millions."""
        return self.matrix(year, sector).sum(axis=0)

    def __repr__(self) -> str:
        dims = [f"{self.n_countries} countries"]
        if self.years:
            dims.append(f"{len(self.years)} years")
        if self.sectors:
            dims.append(f"{len(self.sectors)} sectors")
        return f"GravityData({', '.join(dims)}, covariates={list(self.covariates)}, source={self.source!r})"


def _require_distinct_roles(roles: dict[str, str], *, source: str) -> None:
    seen: dict[str, str] = {}
    for argument, column in roles.items():
        if column in seen:
            raise DataValidationError(
                f"{source}: column {column!r} is named by both {seen[column]}= and {argument}=; "
                f"fix: each argument must name a different column"
            )
        seen[column] = argument


def _check_year(frame: pd.DataFrame, year: str, keys: list[str], *, source: str) -> None:
    years = pd.to_numeric(frame[year], errors="coerce")
    bad = (years.isna() | (years != np.round(years))).to_numpy()
    if bad.any():
        raise DataValidationError(
            f"{source}: column {year!r} (year) must hold whole years but has missing or fractional "
            f"values in {format_rows(frame, bad, keys)}; fix: fill or drop those rows"
        )
    frame[year] = years.astype("int64")


def _check_flow(frame: pd.DataFrame, flow: str, keys: list[str], *, source: str) -> None:
    schema.require_numeric(frame, flow, source=source, keys=keys)
    negative = (frame[flow] < 0).to_numpy()
    if negative.any():
        raise DataValidationError(
            f"{source}: column {flow!r} (flows, {schema.FLOW_UNIT}) must be >= 0 but is negative in "
            f"{format_rows(frame, negative, [*keys, flow])}; fix: correct those values or set "
            f"them to 0 (no trade)"
        )
    too_big = (frame[flow] > schema.MAX_FLOW).to_numpy()
    if too_big.any():
        raise DataValidationError(
            f"{source}: column {flow!r} (flows, {schema.FLOW_UNIT}) has values above {schema.MAX_FLOW:.0e} in "
            f"{format_rows(frame, too_big, [*keys, flow])}; output and expenditure sums and the models overflow "
            f"double precision at this size; fix: correct those values or check the units"
        )


def _check_duplicates(frame: pd.DataFrame, keys: list[str], flow: str, *, source: str) -> None:
    duplicated = frame.duplicated(keys, keep=False).to_numpy()
    if duplicated.any():
        raise DataValidationError(
            f"{source}: duplicate pairs (same {', '.join(keys)}) in "
            f"{format_rows(frame, duplicated, [*keys, flow])}; fix: aggregate them "
            f"(e.g. df.groupby({keys}, as_index=False).sum()) or drop the repeats"
        )


def _check_square(
    frame: pd.DataFrame, keys: list[str], exporter: str, importer: str, *, source: str
) -> tuple[str, ...]:
    """Every slice must hold every (exporter, importer) pair of one common country set."""
    exporters = set(frame[exporter])
    importers = set(frame[importer])
    countries = tuple(sorted(exporters | importers))
    only_exp, only_imp = sorted(exporters - importers), sorted(importers - exporters)
    hint = ""
    if only_exp or only_imp:
        hint = f" (exporter only: {only_exp[:5]}; importer only: {only_imp[:5]})"
    slice_keys = [key for key in keys if key not in (exporter, importer)]
    codes = np.asarray(countries, dtype=object)
    grid = pd.DataFrame({exporter: np.repeat(codes, len(codes)), importer: np.tile(codes, len(codes))})
    if slice_keys:
        grid = frame[slice_keys].drop_duplicates().merge(grid, how="cross")
    merged = grid[keys].merge(frame[keys], on=keys, how="left", indicator=True)
    missing = merged.loc[(merged["_merge"] == "left_only").to_numpy(), keys]
    if missing.empty:
        return countries
    domestic = missing[(missing[exporter] == missing[importer]).to_numpy()]
    if not domestic.empty:
        raise DataValidationError(
            f"{source}: missing domestic flows (exporter == importer) for {len(domestic)} "
            f"country/slice combinations{hint}, first: {_describe_rows(domestic)}; general "
            f"equilibrium needs each country's sales to itself; fix: add rows with trade = output "
            f"minus exports"
        )
    raise DataValidationError(
        f"{source}: table is not square: {len(missing)} of {len(grid)} exporter-importer pairs "
        f"over {len(countries)} countries are missing{hint}, first: {_describe_rows(missing)}; fix: "
        f"add the missing pairs with trade = 0 (and their covariates) or drop the countries"
    )


def _describe_rows(rows: pd.DataFrame) -> str:
    shown = [
        "(" + ", ".join(f"{name}={value!r}" for name, value in row.items()) + ")"
        for _, row in rows.head(schema.MAX_ROWS_SHOWN).iterrows()
    ]
    return ", ".join(shown) + (", ..." if len(rows) > schema.MAX_ROWS_SHOWN else "")
