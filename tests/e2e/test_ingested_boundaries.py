"""Wuhan's real district boundaries, ingested into a demo city, are what the map and the drill-down show."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely

from bench.chromium import free_port
from bench.server import serve_city
from cim.datum_offsets import to_wgs84
from cim.ingest import IngestRequest
from tests.conftest import DEMO_SEED
from tests.e2e.conftest import ARTIFACTS, map_pixels, open_map
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.demo import build_demo

pytestmark = pytest.mark.e2e

DATAV = "wuhan_420100_datav_districts_array.json"
#: the whole city from above (pitch 0, bearing 0), only the district outlines on: a link a user could share
WHOLE_CITY = "?view=114.39,30.67,8.3,0,0&layers=districts"


@pytest.fixture(scope="module")
def real_districts(shared_data: Path) -> list[tuple[str, str, shapely.Geometry]]:
    """(name, code, shape in WGS84) of each district, read from the file itself (GCJ-02 in it), not the store."""
    features = json.loads((shared_data / "geo" / DATAV).read_text(encoding="utf-8"))

    def wgs84(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda xy: np.column_stack(to_wgs84("gcj02", xy[:, 0], xy[:, 1])))

    return [(f["properties"]["name"], str(f["properties"]["adcode"]), wgs84(shapely.geometry.shape(f["geometry"])))
            for f in features]


@pytest.fixture(scope="module")
def ingested_city(tmp_path_factory: pytest.TempPathFactory, browser, shared_data: Path) -> Iterator[str]:
    """A demo city with the real districts ingested (the demo laid out again inside them), served."""
    folder = tmp_path_factory.mktemp("ingested") / "city"
    build_demo(folder, seed=DEMO_SEED, buildings=2000)
    ingest_file(CityStore.open(folder), IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    with serve_city(folder, free_port(), folder.parent / "serve.log") as url:
        browser.sign_in(url, folder)
        yield url


@pytest.fixture()
def page(browser, ingested_city):
    page, _, problems = open_map(browser, ingested_city + WHOLE_CITY)
    page.locator("#drill-trail").wait_for(timeout=30_000)
    yield page
    assert not problems, problems
    page.close()


def test_the_drill_down_lists_the_13_real_districts_with_their_codes(page, real_districts):
    assert page.locator("#drill-trail").inner_text().strip() == "武汉市"
    rows = page.locator("#drill-children tbody tr").all()
    listed = [(r.locator(".drill-link").inner_text(), r.get_attribute("data-code")) for r in rows]
    assert listed == sorted(((name, code) for name, code, _ in real_districts), key=lambda nc: nc[1])
    assert len(listed) == 13


def _boundary_points(shapes: list[shapely.Geometry], per_shape: int = 20) -> list[list[float]]:
    points = []
    for shape in shapes:
        line = shape.boundary
        points += [line.interpolate(t, normalized=True) for t in np.linspace(0, 1, per_shape, endpoint=False)]
    return [[p.x, p.y] for p in points]


def _share_on_a_line(page, bright: np.ndarray, lonlat: list[list[float]]) -> float:
    """The share of the points that have a bright (outline) pixel within 3 px of where the map puts them."""
    xy = page.evaluate("(pts) => pts.map(p => window.twinMap.deck.getViewports()[0].project(p))", lonlat)
    height, width = bright.shape
    hits = 0
    for x, y in xy:
        col, row = round(x), round(y)
        assert 0 <= col < width and 0 <= row < height, f"({x:.0f}, {y:.0f}) is off the map: the view is not the city"
        hits += bool(bright[max(0, row - 3):row + 4, max(0, col - 3):col + 4].any())
    return hits / len(xy)


def test_the_map_draws_the_real_district_outlines_not_the_generated_ones(page, real_districts, small_city):
    bright = map_pixels(page).sum(axis=-1) > 380  # the outlines are near white on a dark map
    real = _share_on_a_line(page, bright, _boundary_points([shape for _, _, shape in real_districts]))
    # the districts the demo city generates by itself (same seed) are the control: their lines are not drawn
    generated = _share_on_a_line(page, bright, _boundary_points(list(small_city.districts.geometry)))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ingested_districts.png"))
    assert real > 0.9, f"only {real:.0%} of points on the real district borders lie on a drawn line"
    assert generated < 0.6, f"{generated:.0%} of points on the generated borders lie on a drawn line too"


def _landed_view(page, flights: int) -> dict:
    """The map's view once the flight started after `flights` flights has ended (deck.gl's onTransitionEnd)."""
    page.wait_for_function("([f]) => (window.twinMap.landed || 0) > f", arg=[flights], timeout=30_000)
    return page.evaluate("window.twinMap.state.view")


@pytest.mark.parametrize("name", ["新洲区", "汉南区", "江汉区"])
def test_choosing_a_district_in_the_panel_flies_to_where_it_really_is(page, real_districts, name):
    [(code, shape)] = [(c, s) for n, c, s in real_districts if n == name]
    flights = page.evaluate("window.twinMap.flights || 0")
    page.locator(f"#drill-children tr[data-code='{code}'] .drill-link").click()
    page.wait_for_function("([c]) => { const t = document.querySelector('#drill-trail .current');"
                           " return t && t.dataset.code === c; }", arg=[code], timeout=30_000)
    page.wait_for_function("([f]) => (window.twinMap.flights || 0) > f", arg=[flights], timeout=10_000)
    assert page.locator("#feature-title").inner_text() == name
    assert [c.inner_text() for c in page.locator("#drill-trail .drill-link").all()] == ["武汉市", name]
    view = _landed_view(page, flights)
    west, south, east, north = shape.bounds
    # the map is centred on the real district's box (fitted, so within a hair of its middle)
    assert view["longitude"] == pytest.approx((west + east) / 2, abs=0.01)
    assert view["latitude"] == pytest.approx((south + north) / 2, abs=0.01)
