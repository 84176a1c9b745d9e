"""The 3D city in a real browser, checked by what the user sees."""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np
import pytest

from tests.e2e.conftest import ARTIFACTS, changed_share, find_feature, map_pixels, open_map, redraw

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def session(browser, server_url):
    page, requests, problems = open_map(browser, server_url)
    yield page, requests, problems
    page.close()


def _warm(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the residential amber (242, 183, 92) however the light shades it: red > green > blue."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r > 90) & (r - b > 50) & (g > b)


def test_the_canvas_draws_the_buildings(session):
    page, _, _ = session
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "city_map.png"))
    redraw(page, lambda: page.get_by_label("Roads 道路").uncheck())  # yellow roads are warm too
    with_buildings = map_pixels(page)
    warm_share = _warm(with_buildings).mean()
    assert warm_share > 0.01, f"only {warm_share:.2%} of the map shows building colours"

    redraw(page, lambda: page.get_by_label("Buildings 楼栋").uncheck())
    without = map_pixels(page)
    redraw(page, lambda: page.get_by_label("Buildings 楼栋").check())
    changed = changed_share(with_buildings, without)
    assert changed > 0.03, f"hiding the buildings changed only {changed:.2%} of the map"
    assert _warm(without).mean() < warm_share / 10
    redraw(page, lambda: page.get_by_label("Roads 道路").check())


def test_hovering_a_building_shows_a_tooltip(session):
    page, _, _ = session
    x, y, _, _ = find_feature(page, "buildings")
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert " floors 层 · " in tooltip.inner_text() and "residents 人" in tooltip.inner_text()


def test_clicking_a_building_shows_its_address_floors_and_residents(session, services):
    page, _, _ = session
    x, y, _, index = find_feature(page, "buildings")
    page.mouse.click(x, y)
    expected = services.layers.details("buildings", None, index)
    panel = page.locator("#feature-panel")
    panel.locator("#feature-facts").wait_for(timeout=15_000)
    text = panel.inner_text()
    assert expected.subtitle in text
    facts = dict(expected.facts)
    assert f"Floors 层数\n{facts['Floors 层数']}" in text
    # the residents counted in the residents table (the demo's building column agrees with it)
    residents = panel.locator("#drill-counts [data-count=residents]").inner_text()
    assert residents == facts["Residents 实有人口"] == f"{services.drill.view(expected.key).unit.counts.residents:,}"
    assert expected.key in text
    page.wait_for_function("([k]) => location.search.includes('sel=buildings:' + k)", arg=[expected.key],
                           timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "city_map_building.png"))


def test_turning_on_population_draws_hexagons_over_the_city(session):
    page, _, _ = session
    before = map_pixels(page)
    redraw(page, lambda: page.get_by_label("Population (H3) 人口网格").check())
    after = map_pixels(page)
    assert "Residents per H3 cell 每格人口" in page.locator("#map-legend").inner_text()
    redraw(page, lambda: page.get_by_label("Population (H3) 人口网格").uncheck())
    changed = changed_share(after, before)
    assert changed > 0.05, f"turning population on changed only {changed:.2%} of the map"


def test_colouring_by_residents_recolours_the_buildings_and_the_legend_follows(session):
    page, _, _ = session
    by_use = map_pixels(page)
    assert "住宅 residential" in page.locator("#map-legend").inner_text()
    redraw(page, lambda: page.get_by_label("Residents 人口").check())
    by_residents = map_pixels(page)
    legend = page.locator("#map-legend").inner_text()
    assert "Residents per building 楼栋人口" in legend and "nobody lives here" in legend
    redraw(page, lambda: page.get_by_label("Use 用途").check())
    changed = changed_share(by_residents, by_use)
    assert changed > 0.01, f"colouring by residents changed only {changed:.2%} of the map"
    # commercial buildings (blue) have no residents and turn grey
    blue = lambda p: (p[..., 2] > 150) & (p[..., 2] - p[..., 0] > 80)  # noqa: E731
    assert blue(by_residents).mean() < blue(by_use).mean()


def test_the_legend_ramp_is_the_maps_own_colours(session):
    page, _, _ = session
    redraw(page, lambda: page.get_by_label("Residents 人口").check())
    ramp = page.evaluate("""() => {
      const layer = window.twinMap.drawable.buildings;
      return {legend: layer.meta.legends.residents.ramp, palette: layer.meta.palettes.residents};
    }""")
    redraw(page, lambda: page.get_by_label("Use 用途").check())
    palette = {tuple(c) for c in ramp["palette"]}
    assert all(tuple(c) in palette for c in ramp["legend"])


def test_no_request_left_the_machine(session):
    _, requests, _ = session
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}


def test_the_console_has_no_errors(session):
    _, _, problems = session
    assert problems == []


def test_a_layer_that_fails_to_load_leaves_the_others_drawn_and_is_named(browser, server_url):
    page = browser.new_page(server_url, viewport={"width": 1400, "height": 860})
    page.route("**/api/v1/layers/water/data", lambda route: route.fulfill(
        status=500, content_type="application/json", body='{"error": "the disk is on fire"}'))
    page.goto(server_url)
    page.wait_for_selector("#map-status:has-text('not drawn')", timeout=90_000)
    page.wait_for_function("window.twinMap.frames > window.twinMap.drawn.frames", timeout=30_000)
    assert page.locator("#map-status").inner_text() == "not drawn: water: the disk is on fire"
    assert "buildings" in page.evaluate("window.twinMap.deck.props.layers.map(l => l.id)")
    assert _warm(map_pixels(page)).mean() > 0.01
    page.close()


def test_a_reload_revalidates_the_layers_instead_of_downloading_them_again(browser, server_url):
    page, _, _ = open_map(browser, server_url)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    answers: dict[str, int] = {}  # what the server answered, before the browser's cache steps in
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.responseReceivedExtraInfo", lambda e: answers.__setitem__(e["requestId"], e["statusCode"]))
    page.reload()
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    page.wait_for_timeout(300)
    layers = {urlparse(urls[k]).path: v for k, v in answers.items()
              if k in urls and "/api/v1/layers/" in urls[k] and urlparse(urls[k]).path.endswith("/data")}
    assert len(layers) >= 4 and set(layers.values()) == {304}, layers
    page.close()
