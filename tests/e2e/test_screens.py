"""The screens: navigation, the map only where it is needed, its state in the URL, outlines by zoom."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, drawn_layers, find_feature, open_map, redraw

pytestmark = pytest.mark.e2e


def test_the_map_is_mounted_only_on_the_map_page_and_comes_back_where_it_was(browser, server_url):
    page, _, problems = open_map(browser, server_url + "?view=114.28000,30.59000,13.40,45.0,10.0")
    page.get_by_role("link", name="总览 Overview").click()
    page.wait_for_selector("#district-table")
    assert page.evaluate("window.twinMap.deck") is None
    assert not page.locator("#city-map").is_visible() and not page.locator("#map-legend").is_visible()
    assert "江汉区" in page.locator("#district-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "overview.png"))
    page.get_by_role("link", name="一屏统览 Map").click()
    page.wait_for_function("window.twinMap.deck !== null && window.twinMap.drawn.ticket > 0", timeout=30_000)
    assert page.evaluate("window.twinMap.state.view.zoom") == pytest.approx(13.4)
    assert "view=114.28000,30.59000,13.40" in page.url
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=30_000)
    redraw(page, lambda: page.get_by_label("Buildings 楼栋").uncheck())  # the controls steer the new map
    page.wait_for_function("!new URLSearchParams(location.search).get('layers').split(',').includes('buildings')",
                           timeout=5000)
    assert "buildings" not in drawn_layers(page)
    assert problems == []
    page.close()


def test_a_link_shows_exactly_what_was_on_the_screen(browser, server_url, services):
    details = services.layers.details("buildings", None, 42)
    url = (server_url + "?view=114.30000,30.57500,14.00,30.0,0.0&layers=water,districts,population,buildings"
           f"&colour=buildings:residents&variant=population:r9&sel=buildings:{details.key}")
    page, _, problems = open_map(browser, url)
    assert page.get_by_label("Population (H3) 人口网格").is_checked()
    assert page.get_by_label("Residents 人口").is_checked()
    assert page.get_by_label("res 9").is_checked()
    assert not page.get_by_label("Streets (街道) 街道").is_checked()
    page.locator("#feature-panel #feature-facts").wait_for(timeout=15_000)
    assert details.subtitle in page.locator("#feature-panel").inner_text()
    assert page.evaluate("window.twinMap.state.selection.feature") == 42
    assert "population" in drawn_layers(page) and "streets" not in drawn_layers(page)
    page.screenshot(path=str(ARTIFACTS / "linked_view.png"))
    assert problems == []
    page.close()


def test_unit_outlines_show_from_their_own_zoom_with_names_on_hover(browser, server_url):
    page, _, _ = open_map(browser, server_url + "?view=114.28000,30.59000,12.60,0.0,0.0")
    drawn = drawn_layers(page)
    assert "streets" in drawn and "communities" not in drawn and "grids" not in drawn
    page.close()
    page, _, problems = open_map(browser, server_url + "?view=114.27000,30.60000,15.00,0.0,0.0")
    drawn = drawn_layers(page)
    assert {"streets", "communities", "grids"} <= set(drawn) and "compounds" not in drawn
    x, y, _layer, _ = find_feature(page, "grids")
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert "网格 · 4201" in tooltip.inner_text()
    page.screenshot(path=str(ARTIFACTS / "grids_hover.png"))
    page.mouse.click(x, y)
    page.locator("#feature-panel #feature-facts").wait_for(timeout=15_000)
    assert "Level 层级\n网格 grid" in page.locator("#feature-panel").inner_text()
    assert problems == []
    page.close()
    page, _, problems = open_map(browser, server_url + "?view=114.27000,30.60000,16.20,0.0,0.0")
    assert "compounds" in drawn_layers(page)
    x, y, _, _ = find_feature(page, "compounds")
    page.mouse.move(x, y)
    page.locator(".deck-tooltip").wait_for(state="visible", timeout=10_000)
    name, code = page.locator(".deck-tooltip").inner_text().split(" · ")
    assert name.endswith(("花园", "家园", "小区", "公寓", "苑", "新村", "佳园", "名邸", "雅居", "新城"))
    assert len(code) == 17 and code.startswith("4201")
    assert problems == []
    page.close()


@pytest.mark.parametrize(("layer", "zoom", "digits"), [("streets", 12.6, 9), ("communities", 13.6, 12)])
def test_street_and_community_outlines_are_named_on_hover(browser, server_url, services, layer, zoom, digits):
    page, _, problems = open_map(browser, server_url + f"?view=114.27000,30.60000,{zoom:.2f},0.0,0.0")
    x, y, _, _ = find_feature(page, layer)
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    name, code = tooltip.inner_text().split(" · ")
    assert len(code) == digits and code.startswith("4201")
    units = services.store.read(layer, columns=["code", "name"]).set_index("code")["name"]
    assert units[code] == name  # the unit under the pointer, by its own name
    assert problems == []
    page.close()


def test_the_layers_and_admin_screens(browser, server_url, services):
    page, _, problems = open_map(browser, server_url)
    page.get_by_role("link", name="图层 Layers").click()
    page.wait_for_selector("#layers-table")
    table = page.locator("#layers-table").inner_text()
    for layer_id in services.layers.registry.ids:
        assert layer_id in table
    page.screenshot(path=str(ARTIFACTS / "layers.png"))
    page.get_by_role("link", name="管理 Admin").click()
    page.wait_for_selector("#jobs-table")
    assert "live.db" in page.locator(".screen").inner_text()
    assert page.locator(".nav-item.coming").all_inner_texts() == ["事件 Events"]
    assert problems == []
    page.close()
