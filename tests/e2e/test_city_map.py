"""The 3D city in a real browser, checked by what the user sees."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def session(browser, server_url):
    page = browser.new_page(viewport={"width": 1400, "height": 860})
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(server_url)
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    page.wait_for_function("window.twinMap.frames > 0", timeout=60_000)
    page.wait_for_timeout(500)
    yield page, requests, problems
    page.close()


def _redraw(page, action) -> None:
    """Do what the user does, then wait until deck.gl has drawn a frame with the new choice of layers."""
    before = page.evaluate("window.twinMap.renders")
    action()
    page.wait_for_function(
        "([t]) => window.twinMap.drawn.ticket > t && window.twinMap.frames > window.twinMap.drawn.frames",
        arg=[before], timeout=60_000,
    )
    page.wait_for_timeout(200)  # let the compositor put the frame on screen


def _map_pixels(page) -> np.ndarray:
    png = page.locator("#city-map").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _warm(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the residential amber (242, 183, 92) however the light shades it: red > green > blue."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r > 90) & (r - b > 50) & (g > b)


def test_the_canvas_draws_the_buildings(session):
    page, _, _ = session
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "city_map.png"))
    with_buildings = _map_pixels(page)
    warm_share = _warm(with_buildings).mean()
    assert warm_share > 0.01, f"only {warm_share:.2%} of the map shows building colours"

    _redraw(page, lambda: page.get_by_label("Buildings 楼栋").uncheck())
    without = _map_pixels(page)
    _redraw(page, lambda: page.get_by_label("Buildings 楼栋").check())
    changed = (np.abs(with_buildings - without).sum(axis=-1) > 30).mean()
    assert changed > 0.03, f"hiding the buildings changed only {changed:.2%} of the map"
    assert _warm(without).mean() < warm_share / 10


FIND_BUILDING = """([x0, x1, y0, y1, step]) => {
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const index = window.twinMap.pickAt(x, y);
      if (index >= 0) return [x, y, index];
    }
  }
  return null;
}"""


def _find_building_pixel(page) -> tuple[int, int, int]:
    """A pixel in the middle of the map where deck.gl picks a building, and that building's number."""
    box = page.locator("#city-map").bounding_box()
    w, h = box["width"], box["height"]
    found = page.evaluate(FIND_BUILDING, [int(w * 0.3), int(w * 0.7), int(h * 0.3), int(h * 0.8), 16])
    assert found is not None, "no building under any pixel in the middle of the map"
    x, y, index = found
    return int(box["x"] + x), int(box["y"] + y), int(index)


def test_hovering_a_building_shows_a_tooltip(session):
    page, _, _ = session
    x, y, _ = _find_building_pixel(page)
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert " floors · " in tooltip.inner_text() and "residents" in tooltip.inner_text()


def test_clicking_a_building_shows_its_address_floors_and_residents(session, city_data):
    page, _, _ = session
    x, y, index = _find_building_pixel(page)
    page.mouse.click(x, y)
    expected = city_data.building(index)
    panel = page.locator("#building-panel")
    panel.locator("#building-facts").wait_for(timeout=15_000)
    text = panel.inner_text()
    assert expected.address in text
    assert f"Floors 层数\n{expected.floors}" in text
    assert f"Residents 实有人口\n{expected.residents:,}" in text
    assert expected.code in text
    page.screenshot(path=str(ARTIFACTS / "city_map_building.png"))


def test_turning_on_population_draws_hexagons_over_the_city(session):
    page, _, _ = session
    before = _map_pixels(page)
    _redraw(page, lambda: page.get_by_label("Population 人口 (H3)").check())
    after = _map_pixels(page)
    _redraw(page, lambda: page.get_by_label("Population 人口 (H3)").uncheck())
    changed = (np.abs(after - before).sum(axis=-1) > 30).mean()
    assert changed > 0.05, f"turning population on changed only {changed:.2%} of the map"


def test_colouring_by_residents_recolours_the_buildings(session):
    page, _, _ = session
    by_use = _map_pixels(page)
    assert "住宅 residential" in page.locator("#map-legend").inner_text()
    _redraw(page, lambda: page.get_by_label("Residents 人口").check())
    by_residents = _map_pixels(page)
    assert "Residents per building" in page.locator("#map-legend").inner_text()
    _redraw(page, lambda: page.get_by_label("Use 用途").check())
    changed = (np.abs(by_residents - by_use).sum(axis=-1) > 30).mean()
    assert changed > 0.01, f"colouring by residents changed only {changed:.2%} of the map"
    # commercial buildings (blue) have no residents and turn grey
    blue = lambda p: (p[..., 2] > 150) & (p[..., 2] - p[..., 0] > 80)  # noqa: E731
    assert blue(by_residents).mean() < blue(by_use).mean()


def test_no_request_left_the_machine(session):
    _, requests, _ = session
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}


def test_the_console_has_no_errors(session):
    _, _, problems = session
    assert problems == []
