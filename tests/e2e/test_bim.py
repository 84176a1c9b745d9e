"""IFC buildings in a real browser: the BIM screen lists them, a planner's upload is converted and placed,
the map draws the model, and a click on it names the element with its property sets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from tests.conftest import SHARED_DATA
from tests.e2e.conftest import ARTIFACTS, changed_share, find_feature, map_pixels, redraw
from twin.city_store import CityStore

pytestmark = pytest.mark.e2e



def _open_spot(folder) -> tuple[float, float]:
    """The point near where the map opens farthest from any building (so none hides the model)."""
    buildings = CityStore.open(folder).read("buildings", columns=["geometry"])
    lon, lat = np.meshgrid(np.arange(114.29, 114.31, 0.0004), np.arange(30.565, 30.585, 0.0004))
    grid = shapely.points(lon.ravel(), lat.ravel())
    _, gap = buildings.sindex.nearest(grid, return_distance=True, return_all=False)
    best = grid[int(np.argmax(gap))]
    return round(best.x, 6), round(best.y, 6)


def test_the_bim_screen_lists_the_demo_models(browser, live_city):
    url, folder = live_city
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    page.goto(url.rstrip("/") + "/bim")
    page.wait_for_selector("#bim-table tbody tr", timeout=60_000)
    models = CityStore.open(folder).read("bim_models")
    rows = page.locator("#bim-table tbody tr")
    assert rows.count() == len(models) == 3
    text = page.locator("#bim-table").inner_text()
    for _, m in models.iterrows():
        assert m["name"] in text and m["address"] in text and m["building_code"] in text
    assert "IfcMapConversion" in text
    page.close()


def test_a_planner_uploads_an_ifc_file_and_clicks_one_of_its_elements(browser, live_city):
    url, folder = live_city
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    page.goto(url.rstrip("/") + "/bim")
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.wait_for_selector("#bim-upload", timeout=60_000)
    page.set_input_files("#bim-file", str(SHARED_DATA / "ifc" / "IfcOpenHouse_IFC4.ifc"))
    lon, lat = _open_spot(folder)
    page.fill("#bim-anchor", f"{lon},{lat}")
    page.fill("#bim-rotation", "25")
    page.click("#bim-upload")
    page.wait_for_function("document.body.dataset.bimLoaded", timeout=120_000)
    status = page.locator("#bim-upload-status").inner_text()
    assert status.startswith("placed ") and "by anchor" in status, status
    models = CityStore.open(folder).read("bim_models")
    assert "IfcOpenHouse_IFC4.ifc" in models["file"].tolist()  # the name it was uploaded as
    model_id = page.evaluate("document.body.dataset.bimLoaded")
    page.wait_for_url("**/?view=*", timeout=30_000)
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    assert f"sel=bim:{model_id}" in page.evaluate("decodeURIComponent(location.search)")
    page.wait_for_function("window.twinMap.deck.props.layers.some(l => l.props.modelId === '" + model_id + "')",
                           timeout=60_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "bim_uploaded.png"))
    with_model = map_pixels(page)
    toggle = page.locator('#layer-toggles input[value="bim"]')
    redraw(page, toggle.uncheck)
    assert changed_share(with_model, map_pixels(page)) > 0.003  # the model is drawn where the map looks
    redraw(page, toggle.check)

    x, y, _, feature = find_feature(page, "bim")
    hit = page.evaluate("([x, y]) => { const b = document.getElementById('city-map').getBoundingClientRect();"
                        " return window.twinMap.pickAt(x - b.left, y - b.top); }", [x, y])
    assert hit["element"] >= 0
    models = page.evaluate("window.twinMap.drawable.bim.meta.models.map(m => m.id)")
    picked_model = models[feature]
    page.mouse.click(x, y)
    page.wait_for_selector("#bim-inspector:not([hidden]) #bim-element", timeout=30_000)
    listed = page.evaluate("fetch('/api/v1/bim/models').then(r => r.json())")["models"]
    assert any(m["id"] == picked_model for m in listed)
    element = CityStore.open(folder).read("bim_elements", where=("model_id", "==", picked_model))
    row = element[element["index"] == hit["element"]].iloc[0]
    inspector = page.locator("#bim-inspector")
    page.wait_for_function("!document.querySelector('#bim-inspector').textContent.includes('loading')",
                           timeout=30_000)
    text = inspector.inner_text()
    assert row["global_id"] in text and row["ifc_class"] in text, text
    for pset, props in json.loads(row["psets"]).items():
        shown = page.locator(f'#bim-inspector table[data-pset="{pset}"]')
        assert shown.count() == 1, pset
        for name in props:
            assert name in shown.inner_text()
    page.wait_for_function("([e]) => location.search.includes('el=' + e)", arg=[hit["element"]], timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "bim_element.png"))
    assert not problems, problems
    page.close()


#: picks over the middle of the map: every (layer, model, element) under a grid of pixels
PICKS = """([x0, x1, y0, y1, step]) => {
  const out = [];
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const hit = window.twinMap.pickAt(x, y);
      if (hit && hit.layer === 'bim' && hit.element >= 0) out.push([hit.feature, hit.element]);
    }
  }
  return out;
}"""


def _storeys_under_the_map(page, model_id: str) -> set[str]:
    """The storeys of the model's elements that a click in the middle of the map would pick."""
    box = page.locator("#city-map").bounding_box()
    w, h = box["width"], box["height"]
    hits = page.evaluate(PICKS, [int(w * 0.2), int(w * 0.8), int(h * 0.15), int(h * 0.85), 48])
    ids = page.evaluate("window.twinMap.drawable.bim.meta.models.map(m => m.id)")
    elements = sorted({e for f, e in hits if ids[f] == model_id})
    assert elements, f"no element of {model_id} under the middle of the map"
    storeys = set()
    for index in elements[:: max(1, len(elements) // 8)]:  # eight or so of them, spread over the list
        answer = page.evaluate("(u) => fetch(u).then(r => r.json())", f"/api/v1/bim/models/{model_id}/elements/{index}")
        storeys.add(answer["storey"])
    return storeys


def test_a_demo_model_stands_in_the_city_and_shows_one_storey_at_a_time(browser, live_city):
    url, _ = live_city
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    page.goto(url.rstrip("/") + "/bim")
    listed = page.evaluate("fetch('/api/v1/bim/models').then(r => r.json())")["models"]
    # the demo's own models are placed by their map conversion (an upload here is placed by its anchor)
    demo = max([m for m in listed if m["method"] == "map_conversion"], key=lambda m: len(m["storeys"]))
    page.goto(url.rstrip("/") + demo["map"])  # the BIM screen's "show on map" link
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    page.wait_for_function("window.twinMap.deck.props.layers.some(l => l.props.modelId === '" + demo["id"] + "')",
                           timeout=60_000)
    page.wait_for_timeout(800)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bim_demo_model.png"))
    # the model is drawn where the link looks: turning the models off changes the picture there
    with_model = map_pixels(page)
    toggle = page.locator('#layer-toggles input[value="bim"]')
    redraw(page, toggle.uncheck)
    assert changed_share(with_model, map_pixels(page)) > 0.003
    redraw(page, toggle.check)
    page.wait_for_timeout(500)
    # the link selects it: the inspector offers its storeys, as the file names them
    page.wait_for_selector("#bim-inspector:not([hidden]) #bim-storeys", timeout=30_000)
    buttons = [b.get_attribute("data-storey") for b in page.locator("#bim-storeys button[data-storey]").all()]
    names = [s["name"] for s in demo["storeys"]]
    assert buttons[0] == "" and set(buttons[1:]) <= set(names) and len(buttons) > 2
    every = _storeys_under_the_map(page, demo["id"])
    assert len(every) > 1, every  # the whole building: the picks land on several storeys
    all_storeys = map_pixels(page)
    first = buttons[1]
    redraw(page, page.locator(f'#bim-storeys button[data-storey="{first}"]').click)
    assert page.locator(f'#bim-storeys button[data-storey="{first}"]').get_attribute("class") == "on"
    assert changed_share(all_storeys, map_pixels(page)) > 0.003
    assert _storeys_under_the_map(page, demo["id"]) == {first}  # only that storey is left to click
    page.screenshot(path=str(ARTIFACTS / "bim_one_storey.png"))
    redraw(page, page.locator('#bim-storeys button[data-storey=""]').click)
    assert len(_storeys_under_the_map(page, demo["id"])) > 1
    page.close()
