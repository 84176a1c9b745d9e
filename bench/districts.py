"""Do the demo city's buildings stand in the district their code names? Checked against real boundaries.

    python -m bench.districts [--scale city|small] [--buildings N] [--seed S]

The truth: the seven central districts of ``wuhan_central7_districts_gdp_CRS84.geojson`` (codes by name).
Each building's representative point is joined to them; the figure is the share of the buildings standing
in one of them whose ``district_code`` is that district's. Three demo cities are built in the same run:

- baseline: in the districts the generator draws itself (no real boundaries in the store);
- ours: after ``twin cim ingest boundaries`` of that same central7 file, which ``twin demo build`` then lays
  the city out in;
- ``datav``: after ingesting the DataV file instead (all 13 districts, GCJ-02), checked both against
  central7 (an independent source, of another vintage: 武昌/洪山 and 江岸/青山 are drawn differently) and
  against the DataV districts themselves.

All three cities have the same number of buildings. At ``--scale city`` that is 75,000, not 300,000: the
seven central districts (about 860 km²) have room for 77,000 buildings at the generator's density, and a
city laid out in them refuses more (``--buildings`` sets another number). So at ``--scale city`` a second
line (``district_agreement_full_scale``) takes the whole city, 300,000 buildings, laid out in the DataV
districts against the same city in its generated districts, checked against the DataV districts and against
central7 (``--no-full`` skips it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from bench.common import report
from cim.ingest import Context, IngestRequest, prepare
from cim.level_join import Units, representative_points
from tests.conftest import SHARED_DATA
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.demo import build_demo

CITY_IN_CENTRAL7 = 75_000  # what the seven central districts hold at the generator's density (77,122)
DATAV = SHARED_DATA / "geo" / "wuhan_420100_datav_districts_array.json"
CENTRAL7 = SHARED_DATA / "geo" / "wuhan_central7_districts_gdp_CRS84.geojson"


def central_districts() -> gpd.GeoDataFrame:
    """The seven central districts with their GB/T 2260 codes (taken by name by our own boundaries ingest)."""
    prepared = prepare(IngestRequest(kind="boundaries", path=CENTRAL7), Context(units=Units(), register=None))
    return prepared.frame[["code", "geometry"]]


def agreement(store: CityStore, truth: gpd.GeoDataFrame) -> tuple[float, int]:
    """The share of buildings in ``truth``'s districts whose district code is the one they stand in."""
    b = store.read("buildings", columns=["district_code", "geometry"])
    points = gpd.GeoDataFrame({"claimed": b["district_code"].astype(str).to_numpy()},
                              geometry=representative_points(b.geometry.to_numpy()), crs="EPSG:4326")
    joined = gpd.sjoin(points, truth, predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()]
    if not len(joined):
        return 0.0, 0
    return float(np.mean(joined["claimed"].to_numpy() == joined["code"].astype(str).to_numpy())), len(joined)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("small", "city"), default="city")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--buildings", type=int, default=None,
                        help="buildings in each city (default: 75,000 at --scale city, the scale's own at small)")
    parser.add_argument("--no-full", dest="full", action="store_false",
                        help="at --scale city, skip the whole 300,000-building city laid out in the DataV districts")
    args = parser.parse_args()
    if args.buildings is None and args.scale == "city":
        args.buildings = CITY_IN_CENTRAL7
    for path in (DATAV, CENTRAL7):
        if not path.exists():
            raise SystemExit(f"error: {path} is missing; this benchmark reads the shared real data beside the repo")
    truth = central_districts()
    with tempfile.TemporaryDirectory(prefix="bench-districts-") as tmp:
        generated, seconds = _build(Path(tmp) / "generated", None, None, args)
        baseline, baseline_n = agreement(generated, truth)
        central, central_s = _build(Path(tmp) / "central7", CENTRAL7, None, args)
        ours, ours_n = agreement(central, truth)
        datav, _ = _build(Path(tmp) / "datav", DATAV, "gcj02", args)
        datav_truth, _ = agreement(datav, truth)
        datav_own, datav_n = agreement(datav, datav.read("districts", columns=["code", "geometry"]))
        buildings = central.require("buildings").rows
    report("district_agreement", ours, "demo city in its own generated districts", baseline, "share of buildings",
           scale=args.scale, buildings=buildings, in_central7=ours_n, baseline_in_central7=baseline_n,
           datav_vs_central7=round(datav_truth, 4), datav_vs_datav=round(datav_own, 4), datav_buildings=datav_n,
           build_s=round(central_s, 1), baseline_build_s=round(seconds, 1))
    if args.scale == "city" and args.full:
        _full_scale(truth, args.seed)


def _full_scale(central7: gpd.GeoDataFrame, seed: int) -> None:
    """The whole full-scale city (300,000 buildings) laid out in the 13 DataV districts, against the same city
    in its generated districts: checked against the DataV districts it was laid out in, and against central7
    (the issue's own figure for the generated city: 59 % of about 58,000 buildings)."""
    full = argparse.Namespace(seed=seed, scale="city", buildings=None)
    with tempfile.TemporaryDirectory(prefix="bench-districts-full-") as tmp:
        generated, seconds = _build(Path(tmp) / "generated", None, None, full)
        datav, datav_s = _build(Path(tmp) / "datav", DATAV, "gcj02", full)
        districts = datav.read("districts", columns=["code", "geometry"])
        ours, ours_n = agreement(datav, districts)
        baseline, baseline_n = agreement(generated, districts)
        ours7, ours7_n = agreement(datav, central7)
        baseline7, baseline7_n = agreement(generated, central7)
        buildings = datav.require("buildings").rows
    report("district_agreement_full_scale", ours, "demo city in its own generated districts", baseline,
           "share of buildings", truth="the DataV districts ingested (13, GCJ-02)", buildings=buildings,
           in_districts=ours_n, baseline_in_districts=baseline_n, vs_central7=round(ours7, 4), in_central7=ours7_n,
           baseline_vs_central7=round(baseline7, 4), baseline_in_central7=baseline7_n, build_s=round(datav_s, 1),
           baseline_build_s=round(seconds, 1))


def _build(folder: Path, boundaries: Path | None, crs: str | None, args: argparse.Namespace
           ) -> tuple[CityStore, float]:
    store = CityStore.open(folder, create=True)
    if boundaries is not None:
        ingest_file(store, IngestRequest(kind="boundaries", path=boundaries, crs=crs))
    started = time.perf_counter()
    build_demo(folder, seed=args.seed, scale=args.scale, buildings=args.buildings, force=True)
    return CityStore.open(folder), time.perf_counter() - started


if __name__ == "__main__":
    main()
