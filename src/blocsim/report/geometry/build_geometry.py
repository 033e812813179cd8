"""Build ``eurasia_regions.geo.json`` (the report's map geometry) from Natural Earth.

Run once by hand when the geometry should change; the output is committed so that the
package draws maps without any network access::

    cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python src/blocsim/report/geometry/build_geometry.py /tmp/package/countries-110m.json

Input: the ``countries-110m.json`` TopoJSON of the npm package ``world-atlas`` 2.0.2
(Mike Bostock, ISC licence), itself a conversion of Natural Earth 1:110m Admin 0
countries (public domain). Feature ids are ISO 3166-1 numeric codes.

Output: one GeoJSON ``Feature`` per blocsim region (``id`` = region code such as ``RUS``
or ``EUN``), whose geometry is the ``MultiPolygon`` of all the region's countries
(internal borders stay visible). Countries outside the named regions form ``ROW``;
Antarctica is dropped. Coordinates are rounded to 0.01 degree.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: ISO 3166-1 numeric code -> blocsim region. EUN is the EU-28 of the 2008-2016 data years.
REGION_OF_NUMERIC: dict[str, str] = {
    "643": "RUS", "398": "KAZ", "112": "BLR", "051": "ARM", "417": "KGZ",
    "804": "UKR", "860": "UZB", "762": "TJK", "156": "CHN", "840": "USA",
    "792": "TUR", "392": "JPN", "410": "KOR", "124": "CAN", "036": "AUS", "578": "NOR",
    # EU-28: AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT
    # NLD POL PRT ROU SVK SVN ESP SWE GBR (Malta is below the 1:110m resolution).
    **{code: "EUN" for code in (
        "040", "056", "100", "191", "196", "203", "208", "233", "246", "250", "276", "300",
        "348", "372", "380", "428", "440", "442", "470", "528", "616", "620", "642", "703",
        "705", "724", "752", "826",
    )},
}
#: ISO 3166-1 alpha-3 -> numeric of the single-country regions of dataset v2 (eaeu-2022v2: the 84
#: countries of OECD ICIO 2023 and the partners added; the 28 EU members are their own regions, not
#: EUN). Each gets its own feature besides the regions above; those below the 1:110m resolution
#: (e.g. HKG, SGP, MLT) have no polygon and are not drawn.
COUNTRY_NUMERIC: dict[str, str] = {
    "AGO": "024", "ARE": "784", "ARG": "032", "ARM": "051", "AUS": "036", "AUT": "040", "BEL": "056",
    "BGD": "050", "BGR": "100", "BLR": "112", "BRA": "076", "BRN": "096", "CAN": "124", "CHE": "756",
    "CHL": "152", "CHN": "156", "CIV": "384", "CMR": "120", "COD": "180", "COL": "170", "CRI": "188",
    "CYP": "196", "CZE": "203", "DEU": "276", "DNK": "208", "EGY": "818", "ESP": "724", "EST": "233",
    "FIN": "246", "FRA": "250", "GBR": "826", "GRC": "300", "HKG": "344", "HRV": "191", "HUN": "348",
    "IDN": "360", "IND": "356", "IRL": "372", "ISL": "352", "ISR": "376", "ITA": "380", "JOR": "400",
    "JPN": "392", "KAZ": "398", "KGZ": "417", "KHM": "116", "KOR": "410", "LAO": "418", "LTU": "440",
    "LUX": "442", "LVA": "428", "MAR": "504", "MEX": "484", "MLT": "470", "MMR": "104", "MYS": "458",
    "NGA": "566", "NLD": "528", "NOR": "578", "NZL": "554", "PAK": "586", "PER": "604", "PHL": "608",
    "POL": "616", "PRT": "620", "ROU": "642", "RUS": "643", "SAU": "682", "SEN": "686", "SGP": "702",
    "STP": "678", "SVK": "703", "SVN": "705", "SWE": "752", "THA": "764", "TJK": "762", "TUN": "788",
    "TUR": "792", "TWN": "158", "UKR": "804", "USA": "840", "UZB": "860", "VNM": "704", "ZAF": "710",
}
ANTARCTICA = "010"
REGION_NAMES: dict[str, str] = {
    "RUS": "Russia", "KAZ": "Kazakhstan", "BLR": "Belarus", "ARM": "Armenia",
    "KGZ": "Kyrgyzstan", "UKR": "Ukraine", "UZB": "Uzbekistan", "TJK": "Tajikistan",
    "CHN": "China", "EUN": "European Union", "USA": "United States", "TUR": "Turkey",
    "JPN": "Japan", "KOR": "Korea, Rep.", "CAN": "Canada", "AUS": "Australia",
    "NOR": "Norway", "ROW": "Rest of world",
}


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat coordinates of every arc of a quantised TopoJSON topology."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 2), round(y * sy + ty, 2)))
        arcs.append(points)
    return arcs


def ring(arc_ids: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    """Stitch a TopoJSON ring (arc indices; ``~i`` means arc ``i`` reversed) into coordinates."""
    coords: list[tuple[float, float]] = []
    for index in arc_ids:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        coords.extend(points if not coords else points[1:])
    return [list(p) for p in coords]


def build(topology: dict[str, Any]) -> dict[str, Any]:
    """Return the region FeatureCollection for a world-atlas ``countries`` topology.

    First the regions of :data:`REGION_NAMES` (``ROW``: every country outside them), then one
    feature per country of :data:`COUNTRY_NUMERIC` that is not already a region (named as in
    Natural Earth), so that both the 18 regions of eaeu-2016v1 and the countries of v2 are drawn.
    """
    arcs = decode_arcs(topology)
    polygons: dict[str, list[list[list[list[float]]]]] = {code: [] for code in REGION_NAMES}
    country_of_numeric = {numeric: iso3 for iso3, numeric in COUNTRY_NUMERIC.items() if iso3 not in REGION_NAMES}
    names = dict(REGION_NAMES)
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if numeric == ANTARCTICA or geometry["type"] not in ("Polygon", "MultiPolygon"):
            continue
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        shape = [[ring(r, arcs) for r in part] for part in parts]
        polygons[REGION_OF_NUMERIC.get(str(numeric), "ROW")].extend(shape)
        country = country_of_numeric.get(str(numeric))
        if country is not None:
            polygons.setdefault(country, []).extend(shape)
            names[country] = str(geometry.get("properties", {}).get("name", country))
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"region": code, "name": names[code]},
            "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
        }
        for code, coordinates in polygons.items()
    ]
    return {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:110m Admin 0 countries (public domain) via world-atlas 2.0.2",
        "features": features,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topojson", type=Path, help="world-atlas countries-110m.json")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("eurasia_regions.geo.json"),
        help="output GeoJSON path (default: next to this script)",
    )
    args = parser.parse_args()
    collection = build(json.loads(args.topojson.read_text()))
    args.out.write_text(json.dumps(collection, separators=(",", ":")))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, {len(collection['features'])} regions)")


if __name__ == "__main__":
    main()
