"""Benchmark: import a BACI-format HS6 file into the store and aggregate it to HS sections.

Writes a synthetic file in BACI's real format (``t,i,j,k,v,q``; BACI numeric country codes
with the matching ``country_codes_V202401.csv``; ``k`` without leading zeros as in older
releases; ``v`` in thousands of USD; ``q`` with ``NA`` for missing) to a temporary folder,
then times, in one run:

1. DuckDB engine: ``Store.import_file(..., loader="baci", options={"engine": "duckdb"})``
   (CSV -> checks -> Parquet inside DuckDB: typed ``read_csv``, code mapping by a join,
   validation queries, ``COPY ... TO`` Parquet; no table in Python) and the aggregation to
   HS sections as one DuckDB query over the stored Parquet;
2. pandas engine: ``Store.import_file(..., loader="baci", options={"engine": "pandas"})``
   and :func:`blocsim.data.aggregate.aggregate_products` on the stored table;

and prints both timings (wall clock, and CPU seconds of the process, the steadier figure on a
shared machine) and their ratio (pandas / DuckDB). Both imports validate the same
things (separator, columns, numbers, signs, codes, HS6 format, unique keys) and both
aggregates are checked against each other.

Usage::

    python bench/data_load.py            # 10,000,000 rows
    python bench/data_load.py --rows 1000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from blocsim.data.aggregate import aggregate_products
from blocsim.data.concordance import hs_concordance
from blocsim.data.countries import iso3_table
from blocsim.data.loaders.baci import baci_engine
from blocsim.data.store import Store

N_PRODUCTS = 5000


def write_baci(folder: Path, rows: int, seed: int = 2012) -> Path:
    """Write ``rows`` unique (t, i, j, k) records in BACI format plus the country-code file."""
    rng = np.random.default_rng(seed)
    table = iso3_table()
    codes = np.sort(table["numeric"].to_numpy())[:200]
    chapters = rng.integers(1, 98, N_PRODUCTS)
    chapters[chapters == 77] = 76
    products = np.unique(chapters * 10_000 + rng.integers(100, 9_999, N_PRODUCTS))
    space = len(codes) * len(codes) * len(products)
    if rows > space:
        raise SystemExit(f"--rows {rows} exceeds the {space:,} distinct (i, j, k) keys of the synthetic grid")
    stride = 2_654_435_761 % space  # coprime with the grid size -> a permutation of the keys
    while np.gcd(stride, space) != 1:
        stride += 1
    index = (np.arange(rows, dtype=np.int64) * stride + 12_345) % space
    i, rest = np.divmod(index, len(codes) * len(products))
    j, k = np.divmod(rest, len(products))
    frame = pd.DataFrame(
        {
            "t": np.full(rows, 2012, dtype=np.int64),
            "i": codes[i],
            "j": codes[j],
            "k": products[k],
            "v": np.round(rng.lognormal(3.0, 2.5, rows), 3),
            "q": np.where(rng.random(rows) < 0.1, np.nan, np.round(rng.lognormal(2.0, 2.0, rows), 3)),
        }
    )
    path = folder / "BACI_HS12_Y2012_V202401.csv"
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(f"COPY frame TO '{path}' (HEADER, DELIMITER ',', NULLSTR 'NA')")
    con.close()
    names = table.set_index("numeric").loc[codes]
    pd.DataFrame(
        {"country_code": codes, "country_name": names["name"].to_numpy(), "country_iso2": "", "country_iso3": names["iso3"].to_numpy()}
    ).to_csv(folder / "country_codes_V202401.csv", index=False)
    return path


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, func, results: dict[str, float], cpu: dict[str, float]):  # type: ignore[no-untyped-def]
    """Run ``func``; record its wall time in ``results`` and its CPU time in ``cpu`` (the CPU
    time is the steadier figure on a machine shared with other jobs)."""
    start, start_cpu = time.perf_counter(), _cpu_seconds()
    value = func()
    results[label] = time.perf_counter() - start
    cpu[label] = _cpu_seconds() - start_cpu
    print(f"  {label:<34s} {results[label]:8.2f} s wall {cpu[label]:8.2f} s CPU", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the synthetic BACI file (default 10M)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="blocsim-bench-"))
    results: dict[str, float] = {}
    cpu: dict[str, float] = {}
    try:
        print(f"writing {args.rows:,} BACI rows to {folder} ...", flush=True)
        path = timed("generate file (not compared)", lambda: write_baci(folder, args.rows), results, cpu)
        print(f"  file size {path.stat().st_size / 1e6:,.0f} MB; engine='auto' picks {baci_engine(path, 'auto')!r}")
        store = Store(folder / "home")
        concordance = hs_concordance()
        store.import_table("hs_concordance", concordance)

        print("DuckDB engine")
        timed("import (duckdb)", lambda: store.import_file("baci_duckdb", path, loader="baci", options={"engine": "duckdb"}), results, cpu)
        duck = timed(
            "aggregate to HS sections (duckdb)",
            lambda: store.query(
                "SELECT b.exporter, b.importer, b.year, c.section, sum(b.trade) AS trade, sum(b.quantity) AS quantity "
                "FROM baci_duckdb b JOIN hs_concordance c ON substr(b.product, 1, 2) = c.hs2 "
                "GROUP BY ALL ORDER BY ALL"
            ),
            results,
            cpu,
        )

        print("pandas engine")
        timed(
            "import (pandas)",
            lambda: store.import_file("baci_pandas", path, loader="baci", options={"engine": "pandas"}),
            results,
            cpu,
        )
        panda = timed(
            "aggregate to HS sections (pandas)",
            lambda: aggregate_products(store.table("baci_pandas"), "section"),
            results,
            cpu,
        )

        assert len(duck) == len(panda), (len(duck), len(panda))
        np.testing.assert_allclose(duck["trade"].sum(), panda["trade"].sum(), rtol=1e-9)
        stored = store.list().set_index("name")
        assert stored.loc["baci_duckdb", "rows"] == stored.loc["baci_pandas", "rows"] == args.rows
        duck_columns = ("exporter", "importer", "year", "product", "trade", "quantity")
        differing = store.query(  # row by row, in stored order: the two tables are identical
            "SELECT count(*) AS n FROM baci_duckdb d POSITIONAL JOIN baci_pandas p WHERE "
            + " OR ".join(f"d.{c} IS DISTINCT FROM p.{c}" for c in duck_columns)
        )
        assert differing.loc[0, "n"] == 0, differing

        print(f"\n{args.rows:,} rows, {len(duck):,} section cells; stored tables identical, totals agree (rtol 1e-9)")
        for name, figures in (("wall", results), ("CPU", cpu)):
            duck_total = figures["import (duckdb)"] + figures["aggregate to HS sections (duckdb)"]
            pandas_total = figures["import (pandas)"] + figures["aggregate to HS sections (pandas)"]
            print(
                f"  {name:<4s} import pandas/duckdb = {figures['import (pandas)'] / figures['import (duckdb)']:.2f}x, "
                "aggregate pandas/duckdb = "
                f"{figures['aggregate to HS sections (pandas)'] / figures['aggregate to HS sections (duckdb)']:.2f}x, "
                f"total duckdb {duck_total:.2f} s, pandas {pandas_total:.2f} s, ratio {pandas_total / duck_total:.2f}x"
            )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
