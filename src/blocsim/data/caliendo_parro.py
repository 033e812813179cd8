"""The Caliendo and Parro (2015) NAFTA model inputs (31 regions x 40 sectors, 1993) as tidy tables.

:func:`caliendo_parro_2015` reads the authors' original text files (``xbilat1993.txt``,
``tariffs1993.txt``, ``tariffs2005.txt``, ``IO.txt``, ``B.txt``, ``GO.txt``, ``T.txt``;
tab-separated, no header; contents described below) and builds the inputs of
:func:`blocsim.solve_multisector` the way the authors' ``Equilibrium/script.m`` builds its
arrays:

- trade flows: the files hold imports (thousand USD) of importer ``n`` from exporter ``i``
  in the 20 tradable sectors; the 20 service sectors are not traded. Gross output is
  ``max(GO, exports)`` and the domestic flow is gross output minus exports.
- tariffs: percent in the files, fractions here; the diagonal and the services are zero.
- input-output shares: ``gamma_nkj = IO_n[k, j] * (1 - B[j, n])`` (cost share of input ``k``
  in the gross output of ``j``); value-added shares are ``B``.
- final-demand shares (their treatment of negative shares): with income
  ``I_n = VA_n + tariff revenue_n + deficit_n`` and final demand
  ``X_nj - sum_k gamma_njk Y_nk``, the shares ``alpha_nj`` = final demand / income that are
  negative (the IO shares imply more intermediate use than the country buys) are set to
  zero and each country's shares are rescaled to sum to one.
- ``theta``: ``T.txt`` for the tradables and 8.22 for every service sector.

One departure: ``IO.txt`` has one negative share (Canada, input ``other_manufacturing`` into
``basic_metals``, -0.000846). blocsim's solver accepts cost shares in [0, 1] only, so it is set
to zero and the other input shares of that column are rescaled to sum to one (the
value-added share ``B`` is unchanged; the authors' code keeps the negative value).

Money is in USD millions (blocsim's convention): the trade files are thousands of USD, ``GO``
is USD.

Reference: Caliendo, L. and Parro, F. (2015), "Estimates of the Trade and Welfare Effects of
NAFTA", Review of Economic Studies 82(1), 1-44.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.errors import DataValidationError

#: The 31 regions in file order (ISO3; ``ROW`` = rest of the world).
REGIONS = (
    "ARG", "AUS", "AUT", "BRA", "CAN", "CHL", "CHN", "DNK", "FIN", "FRA", "DEU", "GRC", "HUN", "IND", "IDN", "IRL",
    "ITA", "JPN", "KOR", "MEX", "NLD", "NZL", "NOR", "PRT", "ZAF", "ESP", "SWE", "TUR", "GBR", "USA", "ROW",
)
#: The 40 sectors in file order: 20 tradable goods (as in ``blocsim.data.elasticities``), 20 services.
SECTORS = (
    "agriculture", "mining", "food", "textile", "wood", "paper", "petroleum", "chemicals", "plastic", "minerals",
    "basic_metals", "metal_products", "machinery", "office", "electrical", "communication", "medical", "auto",
    "other_transport", "other_manufacturing",
    "electricity", "construction", "retail", "hotels", "land_transport", "water_transport", "air_transport",
    "aux_transport", "post", "finance", "real_estate", "renting_machinery", "computer", "r_and_d",
    "other_business", "public", "education", "health", "other_services", "private",
)
N_REGIONS, N_SECTORS, N_TRADABLE = len(REGIONS), len(SECTORS), 20
#: Trade elasticity the authors' code gives every non-tradable sector.
SERVICES_THETA = 8.22
#: NAFTA members.
NAFTA = ("CAN", "MEX", "USA")
_FILES = {
    "xbilat1993.txt": (N_TRADABLE * N_REGIONS, N_REGIONS),
    "tariffs1993.txt": (N_TRADABLE * N_REGIONS, N_REGIONS),
    "tariffs2005.txt": (N_TRADABLE * N_REGIONS, N_REGIONS),
    "IO.txt": (N_REGIONS * N_SECTORS, N_SECTORS),
    "B.txt": (N_SECTORS, N_REGIONS),
    "GO.txt": (N_SECTORS, N_REGIONS),
    "T.txt": (N_TRADABLE,),
}
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CaliendoParroData:
    """The Caliendo-Parro (2015) inputs as tidy tables (USD millions, fractions).

    Attributes
    ----------
    flows : pandas.DataFrame
        ``exporter, importer, sector, trade``: 1993 flows before tariffs, USD millions,
        domestic flows included (31 x 31 x 40 rows; services only domestic).
    tariffs : pandas.DataFrame
        ``exporter, importer, sector, tariff_1993, tariff_2005``: ad valorem fractions, one row
        per tradable sector and pair of different regions.
    io : pandas.DataFrame
        ``country, sector, input_sector, share``: cost share of ``input_sector`` in the gross
        output of ``sector`` (non-zero shares only); value-added shares are one minus their sum.
    value_added_share : pandas.DataFrame
        ``country, sector, share``: the file ``B.txt``.
    final_demand : pandas.DataFrame
        ``country, sector, share``: final-demand shares ``alpha`` as the authors' code builds
        them (negative shares set to zero, each country rescaled to sum to one).
    deficits : pandas.DataFrame
        ``country, deficit``: 1993 trade deficit (imports - exports before tariffs), USD millions.
    theta : mapping sector -> float
        Trade elasticities (``T.txt``; 8.22 for services).
    negative_final_demand : pandas.DataFrame
        ``country, sector, share``: the final-demand shares implied by the files that were
        negative and set to zero (``share`` is the implied value).
    """

    flows: pd.DataFrame
    tariffs: pd.DataFrame
    io: pd.DataFrame
    value_added_share: pd.DataFrame
    final_demand: pd.DataFrame
    deficits: pd.DataFrame
    theta: Mapping[str, float]
    negative_final_demand: pd.DataFrame

    def experiment_tariffs(self, members: Iterable[str] = NAFTA) -> pd.DataFrame:
        """Tariffs of the paper's NAFTA experiment (section 5), for :func:`blocsim.solve_multisector`.

        ``tariff_before`` is 1993; ``tariff_after`` is 2005 on trade among ``members`` (both
        exporter and importer members) and 1993 elsewhere. Columns ``exporter, importer,
        sector, tariff_before, tariff_after`` (fractions).
        """
        group = set(members)
        unknown = sorted(group - set(REGIONS))
        if unknown:
            raise DataValidationError(
                f"argument 'members': {unknown!r} are not regions of the Caliendo-Parro data; allowed: "
                f"{list(REGIONS)!r}. Fix: use their ISO3 codes."
            )
        t = self.tariffs
        inside = t["exporter"].isin(group) & t["importer"].isin(group)
        return pd.DataFrame({
            "exporter": t["exporter"], "importer": t["importer"], "sector": t["sector"],
            "tariff_before": t["tariff_1993"],
            "tariff_after": np.where(inside, t["tariff_2005"], t["tariff_1993"]),
        })


def _read(folder: Path, name: str) -> FloatArray:
    path = folder / name
    if not path.is_file():
        raise DataValidationError(
            f"argument 'path': file {str(path)!r} not found; the Caliendo-Parro folder must hold "
            f"{sorted(_FILES)!r}. Fix: point to the folder of the authors' text files."
        )
    try:
        values = np.loadtxt(path, delimiter="\t", ndmin=1 if len(_FILES[name]) == 1 else 2)
    except ValueError as exc:
        raise DataValidationError(
            f"file {str(path)!r}: not a tab-separated table of numbers ({exc}). Fix: use the original file."
        ) from None
    if values.shape != _FILES[name] or not np.all(np.isfinite(values)):
        raise DataValidationError(
            f"file {str(path)!r}: shape {values.shape} (finite: {bool(np.all(np.isfinite(values)))}); "
            f"allowed: a finite {_FILES[name]} table. Fix: use the original file."
        )
    return values


def final_demand_shares(spending: FloatArray, output: FloatArray, gamma: FloatArray,
                        income: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Final-demand shares as the authors' code builds them, and the shares implied by the data.

    Parameters
    ----------
    spending : (S, N) spending including tariffs; output : (S, N) gross output;
    gamma : (N, S_input, S_using) input cost shares; income : (N,) VA + duties + deficit.

    Returns
    -------
    (alpha, implied) : both (S, N); ``implied`` = (spending - intermediate use) / income,
    ``alpha`` = ``implied`` with negatives set to zero, rescaled to sum to one per country.
    """
    intermediate = np.einsum("nkj,jn->kn", gamma, output)
    implied = (spending - intermediate) / income[None, :]
    alpha = np.maximum(implied, 0.0)
    return alpha / alpha.sum(axis=0, keepdims=True), implied


def caliendo_parro_2015(path: str | Path) -> CaliendoParroData:
    """Load the Caliendo and Parro (2015) NAFTA inputs from the authors' text files.

    Parameters
    ----------
    path : str or Path
        Folder with ``xbilat1993.txt``, ``tariffs1993.txt``, ``tariffs2005.txt``, ``IO.txt``,
        ``B.txt``, ``GO.txt``, ``T.txt`` (the replication files of Caliendo and Parro 2015).

    Returns
    -------
    CaliendoParroData
        Tables described in the class (see the module notes for the processing).

    Raises
    ------
    DataValidationError
        A file is missing, unreadable, of the wrong shape, or holds negative trade or tariffs.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataValidationError(
            f"argument 'path': {str(folder)!r} is not a folder. Fix: pass the folder of the Caliendo-Parro files."
        )
    raw = {name: _read(folder, name) for name in _FILES}
    n, s_all, s_tr = N_REGIONS, N_SECTORS, N_TRADABLE
    for name in ("xbilat1993.txt", "tariffs1993.txt", "tariffs2005.txt", "GO.txt"):
        if np.any(raw[name] < 0):
            raise DataValidationError(
                f"file {str(folder / name)!r}: {int(np.sum(raw[name] < 0))} negative value(s); allowed: >= 0. "
                "Fix: use the original file."
            )
    b = raw["B.txt"]
    if np.any(b <= 0) or np.any(b > 1):
        raise DataValidationError(
            f"file {str(folder / 'B.txt')!r}: value-added shares outside (0, 1]. Fix: use the original file."
        )
    # [sector, importer, exporter] in the files -> [sector, exporter, importer], USD millions
    imports = np.zeros((s_all, n, n))
    imports[:s_tr] = raw["xbilat1993.txt"].reshape(s_tr, n, n).transpose(0, 2, 1) / 1000.0
    tau93, tau05 = (np.zeros((s_all, n, n)) for _ in range(2))
    tau93[:s_tr] = raw["tariffs1993.txt"].reshape(s_tr, n, n).transpose(0, 2, 1) / 100.0
    tau05[:s_tr] = raw["tariffs2005.txt"].reshape(s_tr, n, n).transpose(0, 2, 1) / 100.0
    diag = np.arange(n)
    for arr in (imports, tau93, tau05):
        arr[:, diag, diag] = 0.0
    exports = imports.sum(axis=2)  # (S, N) by exporter
    gross_output = np.maximum(raw["GO.txt"] / 1e6, exports)
    flows = imports.copy()
    flows[:, diag, diag] = gross_output - exports

    io = raw["IO.txt"].reshape(n, s_all, s_all).copy()  # [region, input k, using j]
    negative = io < 0
    if negative.any():
        io[negative] = 0.0
        cols = np.any(negative, axis=1)  # (N, S_using)
        sums = io.sum(axis=1)
        io = np.where(cols[:, None, :], io / np.where(sums > 0, sums, 1.0)[:, None, :], io)
    gamma = io * (1.0 - b.T)[:, None, :]

    spending = (flows * (1.0 + tau93)).sum(axis=1)  # (S, N) by importer, incl. tariffs
    revenue = np.einsum("sij,sij->j", tau93, flows)
    value_added = np.sum(b * gross_output, axis=0)
    deficit = flows.sum(axis=(0, 1)) - flows.sum(axis=(0, 2))
    # the authors' alphas use their (unmodified) IO shares; the one negative entry is theirs
    gamma_authors = raw["IO.txt"].reshape(n, s_all, s_all) * (1.0 - b.T)[:, None, :]
    alpha, implied = final_demand_shares(spending, gross_output, gamma_authors, value_added + revenue + deficit)

    c_idx, s_idx = np.meshgrid(np.arange(n), np.arange(s_all), indexing="ij")
    country_sector = {"country": np.array(REGIONS)[c_idx.ravel()], "sector": np.array(SECTORS)[s_idx.ravel()]}
    s, i, j = np.meshgrid(np.arange(s_all), diag, diag, indexing="ij")
    flows_df = pd.DataFrame({
        "exporter": np.array(REGIONS)[i.ravel()], "importer": np.array(REGIONS)[j.ravel()],
        "sector": np.array(SECTORS)[s.ravel()], "trade": flows.ravel(),
    })
    pair = (s < s_tr) & (i != j)
    tariffs_df = pd.DataFrame({
        "exporter": np.array(REGIONS)[i[pair]], "importer": np.array(REGIONS)[j[pair]],
        "sector": np.array(SECTORS)[s[pair]], "tariff_1993": tau93[pair], "tariff_2005": tau05[pair],
    })
    r, k, u = np.nonzero(gamma)
    io_df = pd.DataFrame({
        "country": np.array(REGIONS)[r], "sector": np.array(SECTORS)[u],
        "input_sector": np.array(SECTORS)[k], "share": gamma[r, k, u],
    })
    neg = implied.T.ravel() < 0
    theta = dict(zip(SECTORS, [*map(float, raw["T.txt"]), *[SERVICES_THETA] * (s_all - s_tr)], strict=True))
    return CaliendoParroData(
        flows=flows_df,
        tariffs=tariffs_df,
        io=io_df,
        value_added_share=pd.DataFrame({**country_sector, "share": b.T.ravel()}),
        final_demand=pd.DataFrame({**country_sector, "share": alpha.T.ravel()}),
        deficits=pd.DataFrame({"country": list(REGIONS), "deficit": deficit}),
        theta=MappingProxyType(theta),
        negative_final_demand=pd.DataFrame({
            "country": country_sector["country"][neg], "sector": country_sector["sector"][neg],
            "share": implied.T.ravel()[neg],
        }),
    )
