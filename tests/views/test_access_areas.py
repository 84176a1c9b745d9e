"""Grants limited to one unit: what a caller whose roles reach one district (or street) sees and exports, and
what a grant for the whole city still gets."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from app import create_app
from twin.errors import TwinError
from twin.permissions import Grant, Role
from twin.services import open_services
from twin.settings import load_settings

INSIDE, OUTSIDE = "420102", "420106"  # 江岸区 and 武昌区: both hold buildings in the test city


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    from tests.conftest import DEMO_SEED
    from twin.demo import build_demo

    folder = tmp_path_factory.mktemp("areas") / "city"
    build_demo(folder, seed=DEMO_SEED, buildings=300)
    s = open_services(load_settings(data=folder))
    yield s
    s.close()


def _client(services, role: Role = Role.ANALYST, area: str | None = INSIDE):
    client = create_app(services).server.test_client()
    token = services.tokens.add(f"t-{uuid.uuid4().hex[:10]}", grants=[Grant(role, area=area)],
                                created_by="tests").token
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _building_in(services, district: str) -> str:
    b = services.store.read("buildings", columns=["code", "district_code", "residents"])
    return str(b[(b["district_code"] == district) & (b["residents"] > 0)]["code"].iloc[0])


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_a_unit_beyond_the_grants_area_is_refused_in_one_line(services):
    client = _client(services)
    outside = client.get(f"/api/v1/units/{OUTSIDE}")
    assert outside.status_code == 403
    assert outside.json["error"].startswith("t-") and outside.json["error"].endswith(
        f"may not view in {OUTSIDE}: their grants reach only analyst in {INSIDE}; "
        f"ask an admin for a grant that reaches {OUTSIDE}")
    assert client.get(f"/api/v1/units/{_building_in(services, OUTSIDE)}").status_code == 403
    city = client.get("/api/v1/units/420100")  # the city is not within one of its districts
    assert city.status_code == 403 and "may not view in 420100" in city.json["error"]


def test_a_unit_within_the_area_shows_its_trail_without_what_the_units_above_hold(services):
    body = _client(services).get(f"/api/v1/units/{INSIDE}").json
    city, district = body["trail"]
    assert city["code"] == "420100" and city["name"] == "武汉市"
    assert city["counts"] == {"buildings": None, "residents": None, "dwellings": None, "organisations": None}
    assert district["counts"]["buildings"] == 48 and body["unit"]["counts"]["buildings"] == 48
    assert body["children"] and all(c["code"].startswith(INSIDE) for c in body["children"])
    building = _client(services).get(f"/api/v1/units/{_building_in(services, INSIDE)}").json
    assert building["residents"]["total"] > 0


def test_an_export_holds_only_the_rows_within_the_area_and_the_audit_says_so(services):
    response = _client(services).get("/api/v1/tables/buildings.csv")
    assert response.status_code == 200
    rows = _rows(response)
    assert len(rows) == 48 and {r["district_code"] for r in rows} == {INSIDE}
    residents = _rows(_client(services).get("/api/v1/tables/residents.csv"))
    everyone = services.store.read("residents", columns=["district_code"])
    assert len(residents) == int((everyone["district_code"] == INSIDE).sum()) > 0
    assert {r["district_code"] for r in residents} == {"******"}  # masked for an analyst (sensitive table)
    exports = [r for r in services.audit.query(action="export") if r.target == "buildings.csv"]
    assert exports[0].detail["rows"] == 48 and exports[0].detail["areas"] == [INSIDE]


def test_a_street_grant_gets_no_rows_of_a_table_whose_rows_name_only_districts(services):
    street = services.store.read("streets", columns=["code", "district_code"])
    code = str(street[street["district_code"] == INSIDE]["code"].iloc[0])
    rows = _rows(_client(services, area=code).get("/api/v1/tables/districts.csv"))
    assert rows == []  # a district is not within one of its streets
    streets = _rows(_client(services, area=code).get("/api/v1/tables/streets.csv"))
    assert [r["code"] for r in streets] == [code]


def test_a_table_whose_rows_carry_no_unit_codes_is_not_exported_to_an_area_grant(services):
    response = _client(services).get("/api/v1/tables/population_h3.csv")
    assert response.status_code == 403
    assert response.json["error"].endswith(
        f"may export only within {INSIDE}, and the rows of the population_h3 table carry no codes of those "
        f"levels to tell which lie there; ask an admin for an export grant for the whole city")


def test_a_grant_for_the_whole_city_still_exports_and_views_everything(services):
    client = _client(services, area=None)
    assert len(_rows(client.get("/api/v1/tables/buildings.csv"))) == 300
    assert client.get("/api/v1/tables/population_h3.csv").status_code == 200
    assert client.get(f"/api/v1/units/{OUTSIDE}").status_code == 200
    assert client.get("/api/v1/units/420100").json["trail"][0]["counts"]["buildings"] == 300
    city_grant = _client(services, area="420100")  # the city's own code reaches the whole city too
    assert len(_rows(city_grant.get("/api/v1/tables/buildings.csv"))) == 300


def test_a_feature_beyond_the_area_is_refused_and_one_within_it_is_shown(services):
    client = _client(services)
    outside = client.get(f"/api/v1/layers/buildings/features?key={_building_in(services, OUTSIDE)}")
    assert outside.status_code == 403 and f"may not view in {_building_in(services, OUTSIDE)}" in outside.json[
        "error"]
    inside = client.get(f"/api/v1/layers/buildings/features?key={_building_in(services, INSIDE)}")
    assert inside.status_code == 200 and inside.json["key"] == _building_in(services, INSIDE)
    by_index = client.get(f"/api/v1/layers/districts/features/{_index_of(services, OUTSIDE)}")
    assert by_index.status_code == 403
    cell = client.get("/api/v1/layers/population/features/0")  # a hexagon names no unit
    assert cell.status_code == 403 and "feature names no unit to place it in" in cell.json["error"]
    assert _client(services, area=None).get("/api/v1/layers/population/features/0").status_code == 200


def _index_of(services, district: str) -> int:
    codes = services.store.read("districts", columns=["code"])["code"].astype(str).tolist()
    return codes.index(district)


def test_the_address_search_finds_only_buildings_within_the_area(services):
    addresses = services.store.read("addresses", columns=["text", "building_code"])
    outside = addresses[addresses["building_code"].astype(str).str.startswith(OUTSIDE)].iloc[0]
    inside = addresses[addresses["building_code"].astype(str).str.startswith(INSIDE)].iloc[0]
    refused = _client(services).get("/api/v1/addresses/search", query_string={"q": outside["text"]}).json
    assert refused["match"] is None and refused["reason"] == f"the address found lies outside {INSIDE}"
    assert all(c["building_code"].startswith(INSIDE) for c in refused["candidates"])
    found = _client(services).get("/api/v1/addresses/search", query_string={"q": inside["text"]}).json
    assert found["match"]["building_code"] == str(inside["building_code"])


@pytest.mark.parametrize(("area", "message"), [
    ("420199", "roles.0.area: the city has no district with code 420199; give the code of one of its units "
               "(GET /api/v1/units/420100 lists the districts, each lists what lies below)"),
    ("420102999", "roles.0.area: the city has no street with code 420102999"),
])
def test_an_account_for_an_area_the_city_lacks_is_refused(services, area, message):
    admin = _client(services, Role.ADMIN, None)
    for path, body in (("/api/v1/users", {"name": f"u{area}", "password": "long enough pw"}),
                       ("/api/v1/tokens", {"name": f"t{area}"})):
        response = admin.post(path, json={**body, "roles": [{"role": "analyst", "area": area}]})
        assert response.status_code == 400 and response.json["error"].startswith(message), response.json
    ok = admin.post("/api/v1/tokens", json={"name": f"ok{area}", "roles": [{"role": "analyst", "area": INSIDE}]})
    assert ok.status_code == 201


def test_the_map_panel_starts_at_the_area_and_refuses_a_unit_beyond_it(services):
    import flask

    from tests.views.test_pages import text
    from twin.permissions import AccessDenied, Principal
    from views import map_page

    with flask.Flask("panel").test_request_context():
        flask.g.principal = Principal("ana", "user", (Grant(Role.ANALYST, area=INSIDE),))
        home = map_page.panel(services, None)
        assert getattr(home, "data-level") == "district" and "江岸区" in text(home)
        with pytest.raises(AccessDenied, match=f"^ana may not view in {OUTSIDE}: their grants reach only analyst "
                                               f"in {INSIDE}; ask an admin for a grant that reaches {OUTSIDE}$"):
            map_page.panel(services, {"unit": OUTSIDE})
        with pytest.raises(AccessDenied, match="may not view in"):
            map_page.panel(services, {"layer": "buildings", "key": _building_in(services, OUTSIDE)})


def test_a_pick_that_names_no_feature_gets_a_message_naming_it_not_a_python_error(services):
    import flask

    from twin.permissions import Principal
    from views import map_page

    with flask.Flask("panel").test_request_context():
        flask.g.principal = Principal("ana", "user", (Grant(Role.ANALYST),))
        for picked in ({"layer": "buildings"}, {"layer": "buildings", "index": "x7"},
                       {"layer": "buildings", "index": [1]}, {"layer": "buildings", "index": True}):
            with pytest.raises(map_page.BadPick, match=r"^the map picked feature .* of layer 'buildings', which is "
                                                       r"not a feature number; click the feature again$"):
                map_page.panel(services, picked)
        shown = map_page.panel(services, {"layer": "buildings", "index": "0"})
        assert getattr(shown, "data-level") == "building"
        with pytest.raises(TwinError, match=r"^layer 'buildings' has no variants, so it has no \"\{'x': 1\}\"$"):
            map_page.panel(services, {"layer": "buildings", "index": 0, "variant": {"x": 1}})
