"""Every real file in ../shared/data/geo ingests or gets its one-line error; broken files made here too."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cim.crs_check import WUHAN
from cim.ingest import Context, IngestError, IngestRequest, prepare
from cim.level_join import Units
from cim.levels import Level
from cim.street_register import StreetRegister


@pytest.fixture(scope="module")
def units(small_city) -> Units:
    return Units({Level.DISTRICT: small_city.districts, Level.STREET: small_city.streets,
                  Level.COMMUNITY: small_city.communities, Level.GRID: small_city.grids,
                  Level.COMPOUND: small_city.compounds})


@pytest.fixture(scope="module")
def register(shared_data) -> StreetRegister:
    return StreetRegister.read(shared_data / "geo" / "wuhan_streets_townships_420100.csv")


def _prepare(kind, path, units, register=None, **options):
    return prepare(IngestRequest(kind=kind, path=path, **options), Context(units=units, register=register))


def test_the_datav_districts_ingest_as_gcj02_with_their_adcodes(shared_data):
    prepared = _prepare("boundaries", shared_data / "geo" / "wuhan_420100_datav_districts_array.json", Units(),
                        crs="gcj02")
    report = prepared.report
    assert (prepared.table, report.features, report.crs_in, report.level) == ("districts", 13, "gcj02", "district")
    assert sorted(prepared.frame["code"]) == [f"4201{n:02d}" for n in (2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17)]
    assert any("bare JSON array of 13 features" in w for w in report.warnings)
    # GCJ-02 is a few hundred metres east and north of WGS84 around Wuhan: the stored shapes moved back
    jiangan = prepared.frame.set_index("code").loc["420102", "geometry"]
    assert 114.2 < jiangan.centroid.x < 114.45 and 30.55 < jiangan.centroid.y < 30.85


def test_districts_without_codes_take_them_by_name(shared_data):
    prepared = _prepare("boundaries", shared_data / "geo" / "wuhan_central7_districts_gdp_CRS84.geojson", Units())
    assert sorted(prepared.frame["code"]) == ["420102", "420103", "420104", "420105", "420106", "420107", "420111"]
    assert prepared.report.crs_in == "EPSG:4326"
    assert any("take their GB/T 2260 codes by name" in w for w in prepared.report.warnings)
    assert any("damaged text" in w for w in prepared.report.warnings) is False  # the mojibake keys are dropped


def test_a_register_row_in_no_district_of_the_city_is_refused(tmp_path):
    path = _write(tmp_path, "streets.csv", "code,name\n420102002,大智街道\n420199001,某街道\n")
    with pytest.raises(IngestError, match=r"^streets.csv: row 3 \(某街道\) has district code 420199, which is no "
                                          r"district of the city 420100 in GB/T 2260"):
        _prepare("boundaries", path, Units(), level=Level.STREET)


def test_the_street_register_loads_without_shapes(shared_data):
    prepared = _prepare("boundaries", shared_data / "geo" / "wuhan_streets_townships_420100.csv", Units(),
                        level=Level.STREET)
    assert prepared.table == "register" and prepared.report.features == 193
    assert set(prepared.frame["parent_code"].str[:4]) == {"4201"}


def test_osm_buildings_get_codes_heights_and_their_tile_pieces_joined(shared_data, units):
    prepared = _prepare("buildings", shared_data / "geo" / "wuhan_optics_valley_osm_buildings.geojson", units)
    b = prepared.frame
    assert prepared.report.features == len(b) == 237  # 265 footprints, 28 of them further pieces
    assert b["code"].str.len().eq(20).all() and b["code"].is_unique
    assert (b["height_m"] > 0).all() and b["height_estimated"].sum() == 160
    assert not b.loc[~b["height_estimated"], "height_m"].eq(3.0).all()
    warnings = " | ".join(prepared.report.warnings)
    assert "89 features skipped: they are not Polygon/MultiPolygon (89 Point)" in warnings
    assert "28 features repeat a building already read" in warnings


def test_the_lying_crs_is_refused_with_the_crs_the_values_look_like(shared_data, units):
    with pytest.raises(IngestError, match=r"^cug_campus_roads.geojson: read with its declared CRS EPSG:32649, .* lie "
                                          r"where that CRS is not valid; values look like EPSG:3857; pass --crs "
                                          r"EPSG:3857$"):
        _prepare("roads", shared_data / "geo" / "cug_campus_roads.geojson", units)
    prepared = _prepare("roads", shared_data / "geo" / "cug_campus_roads.geojson", units, crs="EPSG:3857")
    assert prepared.report.features == 50 and prepared.frame["district_code"].notna().all()


@pytest.mark.parametrize(
    ("kind", "file", "options", "expected"),
    [
        ("roads", "wuhan_optics_valley_osm_roads.geojson", {}, 374),
        ("pois", "wuhan_cafes_awesome-cn-cafe.geojson", {}, 5),
        ("pois", "cug_campus_entrances.geojson", {"crs": "EPSG:3857"}, 50),
    ],
)
def test_the_other_real_files_ingest(shared_data, units, kind, file, options, expected):
    prepared = _prepare(kind, shared_data / "geo" / file, units, **options)
    assert prepared.report.features == expected
    assert prepared.frame["district_code"].notna().all()


@pytest.mark.parametrize(
    ("kind", "file", "message"),
    [
        ("boundaries", "wuhan_district_label_points_mca.geojson",
         "its features are Point; this kind takes Polygon or MultiPolygon shapes"),
        *((kind, "monaco-latest.osm.pbf", r"^monaco-latest.osm.pbf: read with its declared CRS EPSG:4326, its "
           r"coordinates \(e.g. 7.42\d*, 43.7\d*\) fall outside Wuhan, and no CRS in use around Wuhan puts them "
           r"there: they lie around 7.42°E 43.7[34]°N, 8,931 km north-west of Wuhan; it looks like a file of another "
           r"place: ingest one that covers Wuhan \(or, if its numbers are not EPSG:4326, pass their CRS with --crs\)$")
          for kind in ("buildings", "roads", "pois")),
        ("boundaries", "monaco-latest.osm.pbf",
         r"^monaco-latest.osm.pbf: an OSM file gives buildings, roads, pois, not boundaries$"),
    ],
)
def test_real_files_that_are_not_of_this_kind_or_city_get_one_line(shared_data, units, kind, file, message):
    with pytest.raises(IngestError, match=message) as caught:
        _prepare(kind, shared_data / "geo" / file, units)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("lon", "lat", "where"),
    [(2.3522, 48.8566, "2.35°E 48.86°N, 8,928 km north-west of Wuhan"),  # Paris
     (-74.006, 40.7128, "74.01°W 40.71°N, 12,054 km north of Wuhan"),  # New York, over the pole
     (151.2093, -33.8688, "151.21°E 33.87°S, 8,123 km south-south-east of Wuhan"),  # Sydney
     (114.3, 35.0, "114.30°E 35.00°N, 481 km north of Wuhan")],  # Henan, beyond the city's margin
)
def test_a_file_of_another_place_is_refused_naming_where_it_lies_and_how_far(tmp_path, units, lon, lat, where):
    point = {"type": "Point", "coordinates": [lon, lat]}
    path = _write(tmp_path, "elsewhere.geojson",
                  _feature_collection([{"type": "Feature", "properties": {"name": "某地"}, "geometry": point}]))
    with pytest.raises(IngestError) as caught:
        _prepare("pois", path, units)
    assert str(caught.value) == (
        f"elsewhere.geojson: read with lon/lat (it declares no CRS), its coordinates (e.g. {lon:.6g}, {lat:.6g}) fall "
        f"outside Wuhan, and no CRS in use around Wuhan puts them there: they lie around {where}; it looks like a "
        f"file of another place: ingest one that covers Wuhan (or, if its numbers are not EPSG:4326, pass their CRS "
        f"with --crs)")


def _feature_collection(features: list) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _district(name: str, ring: list, code: str | None = "420102") -> dict:
    props = {"name": name} | ({"adcode": code} if code else {})
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


SQUARE = [[114.28, 30.60], [114.30, 30.60], [114.30, 30.62], [114.28, 30.62], [114.28, 30.60]]
BOWTIE = [[114.28, 30.60], [114.30, 30.62], [114.30, 30.60], [114.28, 30.62], [114.28, 30.60]]


def _write(tmp_path, name: str, content: bytes | str | dict) -> object:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.geojson", b"", r"empty.geojson is empty \(0 bytes\); the download or copy did not finish"),
        ("cut.geojson", json.dumps(_feature_collection([_district("江岸区", SQUARE)]))[:80],
         r"cut.geojson is not valid JSON: .* at line 1, column \d+; the file looks cut short \(truncated\)"),
        ("none.geojson", _feature_collection([]), "none.geojson has no features; nothing to ingest"),
        ("nogeom.geojson", _feature_collection([{**_district("江岸区", SQUARE), "geometry": None}]),
         "nogeom.geojson: feature 0 has no geometry"),
        ("noname.geojson", {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"adcode": "420102"},
             "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}]},
         r"noname.geojson: boundaries need a name column \(one of name, 名称"),
        ("foreign.geojson", _feature_collection([_district("某区", SQUARE, "110101")]),
         r"^foreign.geojson: feature 0 \(某区\) has district code 110101, which is no district of the city 420100 in "
         r"GB/T 2260 \(its districts are 420102-420107, 420111-420117; development zones such as 东湖新技术开发区 "
         r"have none of their own\); give the code of the district it lies in$"),
        ("made_up.geojson", _feature_collection([_district("江岸区", SQUARE), _district("某区", SQUARE, "420199")]),
         r"^made_up.geojson: feature 1 \(某区\) has district code 420199, which is no district of the city 420100"),
        ("heading.geojson", _feature_collection([_district("市辖区", SQUARE, "420101")]),
         r"feature 0 \(市辖区\) has district code 420101, which is no district"),
        ("street.geojson", _feature_collection([_district("某街道", SQUARE, "420199001")]),
         r"feature 0 \(某街道\) has district code 420199, which is no district"),
        ("mercator.geojson", {**_feature_collection([_district("江岸区", [[12725000, 3579000], [12727000, 3579000],
                                                                       [12727000, 3581000], [12725000, 3579000]])])},
         "values look like EPSG:3857; pass --crs EPSG:3857"),
        ("notes.txt", "hello", "notes.txt cannot be read as CSV|has no features"),
        ("notes.doc", "hello", "cannot tell the format from its name; the formats read are GeoJSON"),
        ("array.json", [1, 2], "is a JSON array but not of GeoJSON Features"),
        ("tendigits.geojson", _feature_collection([_district("江岸区", SQUARE, "4201020010")]),
         r"^tendigits.geojson: its codes have 10 digits, which is no one level \(codes have district 6, street 9, "
         r"community 12, grid 14, compound 17 digits\); fix the codes, or pass --level$"),
        ("mixed.geojson", _feature_collection([_district("江岸区", SQUARE, "420102"),
                                               _district("大智街道", SQUARE, "420102002")]),
         r"^mixed.geojson: its codes have 6 and 9 digits, which is no one level"),
        ("unclosed.geojson", _feature_collection([_district("江岸区", SQUARE), _district("江岸区", SQUARE[:2])]),
         r"^unclosed.geojson: feature 1's shape cannot be read: a ring is not closed \(its last point must repeat "
         r"its first\); fix the shape or drop the feature$"),
        ("dot.geojson", _feature_collection([_district("江岸区", SQUARE), {**_district("江汉区", SQUARE), "geometry": {
            "type": "LineString", "coordinates": [[114.28, 30.60]]}}]),
         r"^dot.geojson: feature 1's shape cannot be read: a line has only one point; fix the shape or drop"),
        ("blob.geojson", _feature_collection([_district("江岸区", SQUARE), {**_district("江汉区", SQUARE), "geometry": {
            "type": "Blob", "coordinates": [1, 2]}}]),
         r"^blob.geojson: feature 1 has geometry type 'Blob', which GeoJSON does not have \(it has Point, "),
    ],
)
def test_broken_files_get_one_line_naming_the_file_and_what_to_do(tmp_path, name, content, message):
    path = _write(tmp_path, name, json.dumps(content) if isinstance(content, list) else content)
    with pytest.raises(IngestError, match=message) as caught:
        _prepare("boundaries", path, Units())
    assert "\n" not in str(caught.value)


def test_an_invalid_shape_is_repaired_and_said_so(tmp_path):
    path = _write(tmp_path, "bowtie.geojson", _feature_collection([_district("江岸区", BOWTIE)]))
    prepared = _prepare("boundaries", path, Units())
    assert shapely.is_valid(prepared.frame.geometry).all()
    assert any(w.startswith("1 invalid shapes repaired (features 0; the first: Self-intersection") for w in
               prepared.report.warnings)


def test_gbk_text_reads_and_a_wrong_declared_encoding_is_refused(tmp_path):
    rows = "code,name\n420102002,大智街道\n420102003,一元街道\n"
    path = _write(tmp_path, "streets.csv", rows.encode("gbk"))
    prepared = _prepare("boundaries", path, Units(), level=Level.STREET)
    assert prepared.frame["name"].tolist() == ["大智街道", "一元街道"] and prepared.report.encoding == "gbk"
    with pytest.raises(IngestError, match=r"streets.csv: the data is not valid utf-8: byte 0x[0-9a-f]{2} at offset "):
        _prepare("boundaries", path, Units(), level=Level.STREET, encoding="utf-8")


def test_a_zipped_shapefile_with_gbk_text_and_no_cpg(tmp_path, small_city):
    folder = tmp_path / "shp"
    folder.mkdir()
    small_city.districts[["code", "name", "geometry"]].to_file(folder / "d.shp", encoding="gbk")
    (folder / "d.cpg").unlink(missing_ok=True)
    archive = tmp_path / "districts.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    prepared = _prepare("boundaries", archive, Units())
    assert sorted(prepared.frame["name"]) == sorted(small_city.districts["name"])


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "parquet"])
def test_the_other_formats_read_the_same_districts(tmp_path, small_city, fmt):
    frame = small_city.districts[["code", "name", "geometry"]]
    path = tmp_path / f"districts.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path)
    prepared = _prepare("boundaries", path, Units())
    assert sorted(prepared.frame["code"]) == sorted(frame["code"])


def test_a_csv_of_points_with_lon_lat_columns_in_another_crs(tmp_path, units):
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform([114.27, 114.30], [30.59, 30.60])
    path = _write(tmp_path, "points.csv", f"名称,经度,纬度\n甲,{x[0]},{y[0]}\n乙,{x[1]},{y[1]}\n")
    with pytest.raises(IngestError, match="values look like EPSG:4547"):
        _prepare("pois", path, units)
    prepared = _prepare("pois", path, units, crs="EPSG:4547")
    assert np.allclose(shapely.get_x(prepared.frame.geometry), [114.27, 114.30], atol=1e-6)


def test_streets_without_codes_take_them_from_the_register_by_name(tmp_path, register):
    districts = gpd.GeoDataFrame({"code": ["420102"], "name": ["江岸区"]},
                                 geometry=[shapely.box(114.2, 30.5, 114.4, 30.7)], crs=4326)
    units = Units({Level.DISTRICT: districts})
    path = _write(tmp_path, "streets.geojson", _feature_collection([_district("大智街", SQUARE, code=None)]))
    prepared = _prepare("boundaries", path, units, register=register, level=Level.STREET)
    assert prepared.frame["code"].tolist() == ["420102002"]
    wrong = _write(tmp_path, "wrong.geojson", _feature_collection([_district("不存在街道", SQUARE, code=None)]))
    with pytest.raises(IngestError, match=r"the street register has no 不存在街道 \(in 420102\)"):
        _prepare("boundaries", wrong, units, register=register, level=Level.STREET)


def test_the_city_box_is_wuhan():
    assert WUHAN.contains(np.array([114.3]), np.array([30.58])).all()


def _square_in(crs: str, tmp_path, *, declare: bool = False):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*np.array(SQUARE).T)
    doc = _feature_collection([_district("江岸区", np.column_stack([x, y]).tolist())])
    if declare:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.split(':')[1]}"}}
    return _write(tmp_path, f"square_{crs.replace(':', '')}.geojson", doc)


@pytest.mark.parametrize(
    ("crs", "outside_its_area"),
    [
        ("EPSG:2436", True),  # Beijing 1954 / 3-degree Gauss-Kruger CM 117E: made for 115.5-118.5°E, not Wuhan
        ("EPSG:2414", False),  # Beijing 1954 / 3-degree Gauss-Kruger zone 38 (CM 114E): the zone Wuhan is in
        ("EPSG:2435", False),  # the same zone without the zone number in the easting
    ],
)
def test_a_beijing_1954_file_given_its_crs_lands_within_a_metre(tmp_path, crs, outside_its_area):
    from pyproj import Geod

    prepared = _prepare("boundaries", _square_in(crs, tmp_path), Units(), crs=crs)
    assert prepared.report.crs_in == crs
    lon, lat = shapely.get_coordinates(prepared.frame.geometry.iloc[0]).T
    _, _, metres = Geod(ellps="WGS84").inv(lon, lat, *np.array(SQUARE).T)
    assert np.abs(metres).max() < 1.0
    said = [w for w in prepared.report.warnings if "is made for" in w]
    assert said == ([f"square_{crs.replace(':', '')}.geojson: EPSG:2436 is made for 115.5°E-118.5°E, 22.6°N-49.88°N; "
                     f"its coordinates land in Wuhan, outside that area, and were read as --crs says (a projection "
                     f"used away from its zone is less exact)"] if outside_its_area else [])


def test_a_declared_crs_used_outside_its_area_is_refused_with_the_same_datum_first(tmp_path):
    path = _square_in("EPSG:2436", tmp_path, declare=True)
    with pytest.raises(IngestError, match=r"^square_EPSG2436.geojson: read with its declared CRS EPSG:2436, its "
                                          r"coordinates \(e.g. [\d.]+, [\d.e+]+\) lie where that CRS is not valid "
                                          r"\(115.5°E-118.5°E, 22.6°N-49.88°N\), though inside Wuhan; values look like "
                                          r"EPSG:21460 \(or .*\); pass --crs EPSG:21460, or --crs EPSG:2436 if the "
                                          r"file truly is in it$"):
        _prepare("boundaries", path, Units())
    assert _prepare("boundaries", path, Units(), crs="EPSG:2436").report.crs_in == "EPSG:2436"


def test_a_given_crs_that_puts_the_values_outside_the_city_is_still_refused(tmp_path):
    path = _square_in("EPSG:2436", tmp_path)
    with pytest.raises(IngestError, match=r"read with --crs EPSG:2435, .* lie where that CRS is not valid; values "
                                          r"look like EPSG:21460 \(or EPSG:4509, .*\); pass --crs EPSG:21460$"):
        _prepare("boundaries", path, Units(), crs="EPSG:2435")


def test_text_heights_read_without_a_warning_from_gdal(tmp_path, units):
    import warnings

    ring = [[114.2901, 30.5801], [114.2903, 30.5801], [114.2903, 30.5803], [114.2901, 30.5803], [114.2901, 30.5801]]
    features = [{"type": "Feature", "properties": {"height": h},
                 "geometry": {"type": "Polygon", "coordinates": [[[x + 0.001 * i, y] for x, y in ring]]}}
                for i, h in enumerate(["45米", 12, ""])]
    path = _write(tmp_path, "heights.geojson", _feature_collection(features))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyogrio's "Could not parse column 'height' as JSON" must not leak
        prepared = _prepare("buildings", path, units)
    assert prepared.frame["height_m"].tolist() == [45.0, 12.0, 3.0]
    assert not any("GDAL" in w or "JSON" in w for w in prepared.report.warnings)


def test_a_csv_of_one_column_reads_and_other_delimiters_are_still_found(tmp_path):
    from cim.readers import read_source

    one = _write(tmp_path, "门牌.csv", "地址\n湖北省武汉市洪山区珞喻路1号\n湖北省武汉市洪山区珞喻路2号\n")
    read = read_source(one)
    assert read.frame.to_dict("list") == {"地址": ["湖北省武汉市洪山区珞喻路1号", "湖北省武汉市洪山区珞喻路2号"]}
    semicolons = _write(tmp_path, "points.csv", "名称;lon;lat\n甲;114.40;30.50\n")
    read = read_source(semicolons)
    assert read.frame["名称"].tolist() == ["甲"] and read.frame.geometry[0].equals(shapely.Point(114.40, 30.50))
