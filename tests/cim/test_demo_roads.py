"""The demo city's roads run between the compounds, on land, and past every compound that gives them as address."""

from __future__ import annotations

import numpy as np
import shapely

UTM_50N = 32650  # metres around Wuhan


def test_no_road_runs_through_a_compound_or_a_building(small_city):
    roads = small_city.roads.to_crs(UTM_50N)
    compounds = small_city.compounds.to_crs(UTM_50N).buffer(-1.0).union_all()
    buildings = small_city.buildings.to_crs(UTM_50N).union_all()
    assert not roads.intersects(compounds).any()
    assert not roads.intersects(buildings).any()


def test_roads_stay_on_land(small_city):
    roads = small_city.roads.to_crs(UTM_50N)
    water = small_city.water.to_crs(UTM_50N).buffer(-1.0).union_all()
    assert roads.intersection(water).length.sum() == 0.0
    assert roads.length.sum() > 100_000  # metres: a network, not a few stubs


def test_every_compound_fronts_the_road_its_address_names(small_city):
    roads = small_city.roads.to_crs(UTM_50N).dissolve("name")
    compounds = small_city.compounds.to_crs(UTM_50N)
    assert set(compounds["road"]) <= set(roads.index)
    gap = shapely.distance(compounds.geometry.to_numpy(), roads.geometry.reindex(compounds["road"]).to_numpy())
    assert np.nanmax(gap) <= 20.0  # metres: the road runs along the compound's side


def test_the_road_class_follows_the_name(small_city):
    roads = small_city.roads
    primary = roads["name"].str.endswith("大道")
    assert primary.any()
    assert (roads.loc[primary, "road_class"] == "primary").all()
    assert (roads.loc[roads["name"].str.endswith("街"), "road_class"] == "tertiary").all()
    assert set(roads["road_class"]) <= {"primary", "secondary", "tertiary"}
