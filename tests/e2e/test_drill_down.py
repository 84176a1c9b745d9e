"""Drill-down from the city to a building, and the address search, in a real browser."""

from __future__ import annotations

import pytest

from cim.levels import Level
from tests.e2e.conftest import ARTIFACTS, open_map

pytestmark = pytest.mark.e2e


@pytest.fixture()
def page(browser, server_url):
    page, _, problems = open_map(browser, server_url)
    page.locator("#drill-trail").wait_for(timeout=30_000)
    yield page
    assert not problems, problems
    page.close()


def _title(page) -> str:
    return page.locator("#feature-title").inner_text()


def _click_and_wait(page, button) -> None:
    """Click a link of the panel; wait until the panel shows the unit it names and the map has flown there."""
    code = button.get_attribute("data-code")
    flights = page.evaluate("window.twinMap.flights || 0")
    button.click()
    page.wait_for_function("([c]) => { const t = document.querySelector('#drill-trail .current');"
                           " return t && t.dataset.code === c; }", arg=[code], timeout=30_000)
    page.wait_for_function("([f]) => (window.twinMap.flights || 0) > f", arg=[flights], timeout=10_000)
    # the flight has ended (deck.gl's onTransitionEnd), however slowly software GL draws its frames
    page.wait_for_function("([f]) => (window.twinMap.landed || 0) > f", arg=[flights], timeout=30_000)


def test_drilling_down_from_the_city_to_a_building(page, services):
    assert page.locator("#drill-trail").inner_text().strip() == "武汉市"
    city = services.drill.view("420100")
    assert page.locator("#drill-counts [data-count=buildings]").inner_text() == f"{city.unit.counts.buildings:,}"
    zoom = 0.0  # the first view may be closer than a whole district: the zoom goes in from the district on
    for level in list(Level)[1:]:
        rows = page.locator("#drill-children tbody tr")
        assert rows.count() > 0, f"nothing listed below the {level.name.lower()} level's parent"
        # the unit below with the most buildings (the list is the service's, in the same order)
        parent = page.locator("#drill-trail .current").get_attribute("data-code")
        children = services.drill.view(parent).children
        best = max(range(len(children)), key=lambda i: (children[i].counts.buildings, children[i].counts.residents))
        child = children[best]
        _click_and_wait(page, page.locator(f"#drill-children tr[data-code='{child.code}'] .drill-link"))
        crumbs = page.locator("#drill-trail .drill-link")
        assert crumbs.count() == level
        assert crumbs.nth(level - 1).inner_text() == child.name
        assert page.locator("#drill-counts [data-count=residents]").inner_text() == f"{child.counts.residents:,}"
        layer = "buildings" if level is Level.BUILDING else child.layer
        assert f"sel={layer}:{child.code}" in page.evaluate("location.search")
        now = page.evaluate("window.twinMap.state.view.zoom")
        assert now >= zoom - 0.01, f"the map zoomed out going down to the {level.name.lower()}"
        zoom = now
    building = services.drill.view(child.code)
    assert [c.inner_text() for c in page.locator("#drill-trail .drill-link").all()] == [u.name for u in building.trail]
    panel = page.locator("#feature-panel").inner_text()
    address = services.store.read("buildings", columns=["code", "address"]).set_index("code").loc[child.code, "address"]
    assert address in panel
    for unit in building.trail[1:]:
        assert unit.code in panel  # the codes at every level, with their names
    # the building stands in the middle of the map, highlighted
    box = page.locator("#city-map").bounding_box()
    hit = page.evaluate("([x, y]) => window.twinMap.pickAt(x, y)", [box["width"] / 2, box["height"] / 2])
    assert hit is not None and hit["layer"] == "buildings"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "drill_down_building.png"))
    # back up to the district by its breadcrumb
    _click_and_wait(page, page.locator("#drill-trail .drill-link").nth(1))
    assert _title(page) == building.trail[1].name
    assert page.evaluate("window.twinMap.state.view.zoom") < zoom


def test_searching_an_address_flies_to_its_building_and_opens_its_panel(page, services):
    plate = services.store.read("addresses").dropna(subset=["building_code"]).iloc[25]
    typed = plate["text"].removeprefix("湖北省武汉市").replace("栋", "幢")
    box = page.locator("#address-search")
    box.fill(typed)
    box.press("Enter")
    page.locator("#search-found").wait_for(timeout=30_000)
    code = str(plate["building_code"])
    page.wait_for_function("([c]) => location.search.includes('sel=buildings:' + c)", arg=[code], timeout=15_000)
    page.wait_for_function("([c]) => { const t = document.querySelector('#drill-trail .current');"
                           " return t && t.dataset.code === c; }", arg=[code], timeout=30_000)
    page.wait_for_timeout(1200)
    view = page.evaluate("window.twinMap.state.view")
    assert view["zoom"] > 16.5
    assert abs(view["longitude"] - plate["lon"]) < 0.003 and abs(view["latitude"] - plate["lat"]) < 0.003
    assert plate["text"] in page.locator("#search-found").inner_text()
    assert _title(page).replace(" ", "") == services.drill.view(code).unit.name
    page.screenshot(path=str(ARTIFACTS / "address_search_found.png"))


def test_an_address_that_does_not_match_offers_the_closest_candidates(page, services):
    plates = services.store.read("addresses").dropna(subset=["building_code"])
    compound = plates["compound_name"].iloc[40]
    box = page.locator("#address-search")
    box.fill(compound)
    page.locator("#address-search-go").click()
    candidates = page.locator("#search-candidates .drill-link")
    candidates.first.wait_for(timeout=30_000)
    assert "closest" in page.locator("#search-candidates").inner_text()
    texts = [c.inner_text() for c in candidates.all()]
    assert texts and all(compound in t for t in texts)
    page.screenshot(path=str(ARTIFACTS / "address_search_candidates.png"))
    code = candidates.first.get_attribute("data-code")
    _click_and_wait(page, candidates.first)
    assert f"sel=buildings:{code}" in page.evaluate("location.search")
    box.fill("火星路1号")
    box.press("Enter")
    page.locator("#search-none").wait_for(timeout=30_000)
    assert "No standard address looks like '火星路1号'" in page.locator("#search-none").inner_text()
