"""The address search box's service: a typed address to its building, or the closest candidates."""

from __future__ import annotations

import pytest

from twin.address_search import AddressSearch, SearchError
from twin.city_store import CityStore


@pytest.fixture(scope="module")
def store(built_city_dir) -> CityStore:
    return CityStore.open(built_city_dir)


@pytest.fixture(scope="module")
def search(store) -> AddressSearch:
    return AddressSearch(store)


@pytest.fixture(scope="module")
def plates(store):
    return store.read("addresses").dropna(subset=["building_code"]).reset_index(drop=True)


def test_a_standard_address_finds_its_building(search, plates):
    plate = plates.iloc[3]
    result = search.search(plate["text"])
    assert result.match is not None and result.candidates == ()
    assert (result.match.building_code, result.match.rule, result.match.score) == (plate["building_code"], "exact", 1)
    assert (result.match.lon, result.match.lat) == pytest.approx((plate["lon"], plate["lat"]))


def test_a_short_form_with_a_room_and_a_variant_still_finds_its_building(search, plates):
    plate = plates.iloc[10]
    typed = plate["text"].removeprefix("湖北省武汉市").replace("栋", "幢") + "2单元1102室"
    result = search.search(typed)
    assert result.match is not None and result.match.building_code == plate["building_code"]


def test_a_compound_alone_offers_its_buildings_as_candidates(search, plates):
    compound = plates["compound_name"].iloc[0]
    result = search.search(compound)
    assert result.match is None and len(result.candidates) >= 2
    assert all(compound in c.text for c in result.candidates)
    assert {c.building_code for c in result.candidates} <= set(plates["building_code"])


def test_an_address_nothing_resembles_has_no_candidates(search):
    result = search.search("火星路1号")
    assert result.match is None and result.candidates == () and result.reason == "no candidate"


@pytest.mark.parametrize(("text", "message"), [
    ("  ", r"^type an address to search for"),
    ("路" * 201, r"^an address has at most 200 characters; this one has 201$"),
])
def test_empty_and_overlong_queries_are_refused(search, text, message):
    with pytest.raises(SearchError, match=message):
        search.search(text)


def test_a_city_without_addresses_says_how_to_get_them(tmp_path):
    with pytest.raises(SearchError, match=r"no standard addresses to search; build the demo city or ingest them"):
        AddressSearch(CityStore.open(tmp_path / "empty", create=True)).search("友谊路1号")
