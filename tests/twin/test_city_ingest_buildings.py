"""Buildings from several files: an append adds beside what is there, an update replaces only the same buildings."""

from __future__ import annotations

import json

import pytest

from cim.ingest import IngestRequest
from twin.city_ingest import IngestFailed, ingest_file
from twin.city_store import CityStore


@pytest.fixture()
def store(tmp_path, shared_data) -> CityStore:
    """A store holding Wuhan's real districts only (no compounds: buildings are numbered within districts)."""
    store = CityStore.open(tmp_path / "city", create=True)
    ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02",
                                     path=shared_data / "geo" / "wuhan_420100_datav_districts_array.json"))
    return store


@pytest.fixture(scope="module")
def footprints(shared_data) -> list[dict]:
    doc = json.loads((shared_data / "geo" / "wuhan_optics_valley_osm_buildings.geojson").read_text(encoding="utf-8"))
    return [f for f in doc["features"] if f["geometry"]["type"] != "Point"]


def _file(tmp_path, name: str, features: list[dict]):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _halves(footprints: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two files of different buildings (a building cut at a tile edge stays in the first)."""
    first = footprints[:100]
    ids = {f["properties"]["id"] for f in first}
    return first, [f for f in footprints[100:] if f["properties"]["id"] not in ids]


def test_a_second_file_appended_adds_its_buildings_beside_the_first(store, tmp_path, footprints):
    first, second = _halves(footprints)
    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "a.geojson", first)))
    before = store.read("buildings")
    report = ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "b.geojson", second),
                                              mode="append"))
    after = store.read("buildings")
    assert (len(before), report.features, len(after)) == (90, 147, 237)
    assert after["code"].is_unique
    kept = after.set_index("code").loc[before["code"], "geometry"]
    assert all(a.equals(b) for a, b in zip(kept, before.geometry, strict=True))  # the first file's untouched
    # the new serials follow the highest one the district had (all in 洪山区 420111, no compounds known)
    new = after[~after["code"].isin(before["code"])]["code"]
    assert sorted(new.str[-3:].astype(int)) == list(range(91, 91 + 147))


def test_an_update_replaces_the_same_buildings_and_adds_the_new_ones(store, tmp_path, footprints):
    first, second = _halves(footprints)
    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "a.geojson", first)))
    before = store.read("buildings").set_index("code")
    ids = [f["properties"]["id"] for f in footprints]
    whole = [f for f in first if ids.count(f["properties"]["id"]) == 1][:5]  # not cut at a tile edge
    surveyed = [{**f, "properties": {**f["properties"], "height": 99}} for f in whole]
    report = ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "b.geojson", surveyed + second),
                                              mode="update"))
    after = store.read("buildings").set_index("code")
    assert (report.features, len(after)) == (5 + 147, 90 + 147)  # none of the first file's lost
    changed = after.index[after["height_m"] == 99]
    assert len(changed) == 5 and set(changed) <= set(before.index)  # replaced in place, under their old codes
    unchanged = before.index.difference(changed)
    assert after.loc[unchanged, "height_m"].equals(before.loc[unchanged, "height_m"])


def test_appending_a_file_added_before_is_refused_and_writes_nothing(store, tmp_path, footprints):
    path = _file(tmp_path, "a.geojson", footprints[:100])
    ingest_file(store, IngestRequest(kind="buildings", path=path))
    entry = store.require("buildings")
    with pytest.raises(IngestFailed, match=r"^a.geojson: 90 of its 90 buildings are in the city already \(the "
                                           r"building at 114\.\d{6}, 30\.\d{6} is building 420111\d{14}, same "
                                           r"footprint or code\); was this file added before\? use --mode update "
                                           r"to replace them; nothing was written$"):
        ingest_file(store, IngestRequest(kind="buildings", path=path, mode="append"))
    assert store.require("buildings").content_hash == entry.content_hash
    ingest_file(store, IngestRequest(kind="buildings", path=path, mode="update"))
    assert store.require("buildings").rows == 90


def test_a_replace_numbers_from_one_again(store, tmp_path, footprints):
    first, second = _halves(footprints)
    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "a.geojson", first)))
    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "b.geojson", second)))
    codes = store.read("buildings")["code"]
    assert sorted(codes.str[-3:].astype(int)) == list(range(1, 148))


def test_the_files_own_building_codes_are_kept_and_checked(store, tmp_path, footprints):
    own = [{**f, "properties": {**f["properties"], "楼栋编码": f"42011100100100100{i + 1:03d}"}}
           for i, f in enumerate(footprints[:3])]
    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "own.geojson", own)))
    assert sorted(store.read("buildings")["code"]) == [f"42011100100100100{i}" for i in ("001", "002", "003")]
    wrong = [{**own[0], "properties": {**own[0]["properties"], "楼栋编码": "42010200100100100001"}}]
    with pytest.raises(IngestFailed, match=r"^wrong.geojson: building 0 has 楼栋编码 42010200100100100001, but it "
                                           r"lies in district 420111; fix the code or the footprint; nothing was "
                                           r"written$"):
        ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "wrong.geojson", wrong)))
    short = [{**own[0], "properties": {**own[0]["properties"], "楼栋编码": "4201110010"}}]
    with pytest.raises(IngestFailed, match=r"building 0 has 楼栋编码 '4201110010', not a building code of 20 digits"):
        ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "short.geojson", short)))


def test_points_in_a_building_outside_any_compound_take_the_buildings_codes(store, tmp_path, footprints):
    from cim.level_join import representative_points

    ingest_file(store, IngestRequest(kind="buildings", path=_file(tmp_path, "a.geojson", footprints[:100])))
    buildings = store.read("buildings").head(3)
    at = representative_points(buildings.geometry.to_numpy())
    rows = "名称,类别,lon,lat\n" + "".join(f"咖啡{i},cafe,{p.x},{p.y}\n" for i, p in enumerate(at))
    rows += "公园,park,114.3900,30.4000\n"  # in 洪山区 (or 江夏区), in no building
    path = tmp_path / "pois.csv"
    path.write_text(rows, encoding="utf-8")
    ingest_file(store, IngestRequest(kind="pois", path=path))
    pois = store.read("pois")
    assert pois["building_code"].head(3).tolist() == buildings["code"].tolist()
    assert pois["compound_code"].head(3).tolist() == buildings["compound_code"].tolist()
    park = pois.iloc[3]
    assert park["district_code"].startswith("4201") and park[["compound_code", "building_code"]].isna().all()
