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
    """Return the region FeatureCollection for a world-atlas ``countries`` topology."""
    arcs = decode_arcs(topology)
    polygons: dict[str, list[list[list[list[float]]]]] = {code: [] for code in REGION_NAMES}
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if numeric == ANTARCTICA or geometry["type"] not in ("Polygon", "MultiPolygon"):
            continue
        region = REGION_OF_NUMERIC.get(str(numeric), "ROW")
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        polygons[region].extend([ring(r, arcs) for r in part] for part in parts)
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"region": code, "name": REGION_NAMES[code]},
            "geometry": {"type": "MultiPolygon", "coordinates": polygons[code]},
        }
        for code in REGION_NAMES
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
