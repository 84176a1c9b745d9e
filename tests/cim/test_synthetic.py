from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cim.demo_scale import DemoCityError
from cim.levels import CITY_CODE, LEVEL_COLUMNS, Level
from cim.synthetic import generate_city, scale_spec
from cim.wuhan import CITY_BUILDINGS, CITY_RESIDENTS, DISTRICTS


def test_the_same_seed_gives_the_same_city(small_city):
    again = generate_city(small_city.seed, "small")
    assert again.buildings.drop(columns="geometry").equals(small_city.buildings.drop(columns="geometry"))
    assert shapely.equals_exact(again.buildings.geometry.to_numpy(), small_city.buildings.geometry.to_numpy()).all()
    assert again.residents.equals(small_city.residents)


def test_another_seed_gives_another_city(small_city):
    other = generate_city(small_city.seed + 1, "small", buildings=len(small_city.buildings))
    assert not np.allclose(other.buildings["lon"].to_numpy(), small_city.buildings["lon"].to_numpy())


def test_the_small_scale_has_a_few_thousand_buildings_and_residents_at_wuhan_s_ratio(small_city):
    spec = scale_spec("small")
    assert len(small_city.buildings) == spec.buildings == 4000
    assert len(small_city.residents) == spec.residents == round(CITY_RESIDENTS * 4000 / CITY_BUILDINGS)


def test_the_city_scale_is_wuhan_s_full_size():
    spec = scale_spec("city")
    assert (spec.buildings, spec.residents) == (300_000, 13_700_000)


def test_an_unknown_scale_is_refused_with_the_choices():
    with pytest.raises(DemoCityError, match="unknown demo scale 'huge'; use one of: small, city"):
        scale_spec("huge")


def test_the_districts_are_wuhan_s_thirteen_with_their_real_codes(small_city):
    assert small_city.districts["code"].tolist() == [d.code for d in DISTRICTS]
    assert small_city.districts["name"].tolist()[:3] == ["江岸区", "江汉区", "硚口区"]


def test_district_centres_lie_near_the_real_district_centroids(shared_data):
    """Our reference centres against the real district polygons (DataV, GCJ-02: offsets of ~500 m)."""
    features = json.loads((shared_data / "geo" / "wuhan_420100_datav_districts_array.json").read_text())
    real = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326").to_crs("EPSG:4547")
    real["code"] = [str(f["properties"]["adcode"]) for f in features]
    for district in DISTRICTS:
        centroid = real.loc[real["code"] == district.code, "geometry"].iloc[0].centroid
        ours = gpd.GeoSeries(gpd.points_from_xy([district.lon], [district.lat]), crs="EPSG:4326").to_crs("EPSG:4547")
        assert ours.iloc[0].distance(centroid) < 1500, district.name_zh


def test_every_record_carries_its_code_at_every_level_above_it(small_city):
    b = small_city.buildings
    assert (b["city_code"] == CITY_CODE).all()
    for level in Level:
        if level is Level.CITY:
            continue
        assert (b["code"].str[: level.digits] == b[level.column]).all(), level
        assert b[level.column].str.len().eq(level.digits).all(), level
    r = small_city.residents
    for column in LEVEL_COLUMNS:
        assert column in r.columns
    sample = r.sample(500, random_state=1)
    codes = small_city.buildings.iloc[sample["building_index"].to_numpy()]
    for column in LEVEL_COLUMNS:
        assert sample[column].astype(str).tolist() == codes[column].astype(str).tolist(), column


def test_every_unit_lies_inside_its_parent(small_city):
    pairs = [
        (small_city.streets, small_city.districts, Level.DISTRICT),
        (small_city.communities, small_city.streets, Level.STREET),
        (small_city.grids, small_city.communities, Level.COMMUNITY),
    ]
    for child, parent, level in pairs:
        parents = parent.set_index("code").geometry
        outer = parents.loc[child[level.column]].to_numpy()
        inside = shapely.area(shapely.intersection(child.geometry.to_numpy(), outer))
        assert np.allclose(inside, shapely.area(child.geometry.to_numpy()), rtol=1e-4), level


def test_buildings_stand_inside_their_district_and_out_of_the_water(small_city):
    b = small_city.buildings
    districts = small_city.districts.set_index("code").geometry
    assert shapely.within(b.geometry.to_numpy(), districts.loc[b["district_code"]].to_numpy()).all()
    water = shapely.union_all(small_city.water.geometry.to_numpy())
    assert not shapely.intersects(b.geometry.to_numpy(), water).any()


def test_buildings_do_not_overlap_each_other(small_city):
    geoms = small_city.buildings.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    assert (left == right).all()


def test_residents_live_only_in_residential_buildings_and_are_all_counted(small_city):
    b = small_city.buildings
    assert b["residents"].sum() == len(small_city.residents)
    assert (b.loc[b["use"] != "residential", "residents"] == 0).all()
    assert b.loc[b["use"] == "residential", "residents"].gt(0).mean() > 0.9


def test_the_city_reads_as_wuhan_with_the_yangtze_the_han_and_east_lake(small_city):
    assert small_city.water["name"].tolist() == ["长江", "汉江", "东湖"]
    yangtze = small_city.water.geometry.iloc[0]
    # Wuchang (武昌) and Hankou (江岸) face each other across the Yangtze
    districts = small_city.districts.set_index("name").geometry
    link = shapely.shortest_line(districts["武昌区"].centroid, districts["江岸区"].centroid)
    assert link.intersects(yangtze)
    assert not districts["武昌区"].intersects(yangtze.buffer(-1))


def test_standard_addresses_name_district_street_road_number_compound_and_building(small_city):
    b = small_city.buildings.iloc[0]
    assert b["address"] == (
        f"湖北省武汉市{b['district_name']}{b['street_name']}{b['road']}{b['number']}号"
        f"{b['compound_name']}{b['building_no']}栋"
    )
    assert small_city.buildings["address"].is_unique


def test_the_city_scale_gives_each_district_its_census_share_of_residents():
    city = generate_city(1, "city", buildings=20_000)
    shares = city.buildings.groupby("district_code")["residents"].sum() / len(city.residents)
    total = sum(d.residents_10k for d in DISTRICTS)
    for d in DISTRICTS:
        assert shares[d.code] == pytest.approx(d.residents_10k / total, abs=0.005), d.name_zh


def test_the_small_scale_crowds_the_core_instead():
    city = generate_city(1, "small")
    core = {d.code for d in DISTRICTS if d.core}
    in_core = city.buildings["district_code"].isin(core).mean()
    assert in_core > 0.75


def test_a_unit_clipped_to_a_real_boundary_keeps_its_area_and_drops_slivers_of_line():
    from cim.synthetic import _valid_areas

    square = shapely.box(0, 0, 1, 1)
    clipped = shapely.GeometryCollection([square, shapely.LineString([(1, 1), (2, 2)])])
    fixed = _valid_areas(np.array([clipped, square], dtype=object))
    assert [g.geom_type for g in fixed] == ["Polygon", "Polygon"]
    assert shapely.equals(fixed[0], square)
