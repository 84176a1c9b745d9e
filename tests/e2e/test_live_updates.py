"""A page left open follows the store: tables written while it is open show without a reload."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import ARTIFACTS, changed_share, map_pixels, open_map, redraw
from twin.city_store import CityStore
from twin.manifest import Source, now

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_page(browser, live_city):
    url, folder = live_city
    page, _, problems = open_map(browser, url + "?layers=water,districts,buildings")
    page.evaluate("window.notReloaded = true")
    yield page, folder, url, problems
    page.close()


def _write(folder, kind: str, frame) -> None:
    CityStore.open(folder).write(kind, frame, writer="a browser test",
                                 sources=[Source(file="test", kind=kind, rows=len(frame), time=now())])


def test_new_building_values_redraw_without_a_reload_and_without_the_shapes(live_page):
    page, folder, _, problems = live_page
    before = map_pixels(page)
    fetched = page.evaluate("window.twinMap.fetches.length")
    buildings = CityStore.open(folder).read("buildings").assign(use="commercial")
    _write(folder, "buildings", buildings)
    page.wait_for_function(
        "([n]) => window.twinMap.fetches.length > n && window.twinMap.frames > window.twinMap.drawn.frames",
        arg=[fetched], timeout=20_000)
    page.wait_for_timeout(300)
    after = map_pixels(page)
    new = page.evaluate("([n]) => window.twinMap.fetches.slice(n)", [fetched])
    assert [f["url"] for f in new] == ["/api/v1/layers/buildings/values"]
    assert page.evaluate("window.notReloaded") is True
    amber = lambda p: (p[..., 0] > 150) & (p[..., 0] - p[..., 2] > 80) & (p[..., 1] > p[..., 2])  # noqa: E731
    assert amber(before).mean() > 0.005 and amber(after).mean() < amber(before).mean() / 10
    assert changed_share(before, after) > 0.01
    page.screenshot(path=str(ARTIFACTS / "live_update_values.png"))
    assert problems == []


def test_new_residents_rebuild_the_population_layer_as_a_job_and_the_map_follows(live_page):
    page, folder, url, problems = live_page
    redraw(page, lambda: page.get_by_label("Population (H3) 人口网格").check())
    before = map_pixels(page)
    fetched = page.evaluate("window.twinMap.fetches.length")
    residents = CityStore.open(folder).read("residents")
    _write(folder, "residents", residents[residents["district_code"].astype(str) != "420103"])
    deadline = time.monotonic() + 30
    job = None
    while time.monotonic() < deadline:
        jobs = page.request.get(url + "api/v1/jobs").json()["jobs"]  # as the signed-in page
        job = next((j for j in jobs if j["title"] == "rebuild the population layer from the residents"), None)
        if job and job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job is not None and job["status"] == "succeeded", job
    single = page.request.get(url + f"api/v1/jobs/{job['id']}").json()
    assert single["progress"] == 1.0 and single["message"].startswith("wrote ")
    page.wait_for_function(
        "([n]) => window.twinMap.fetches.slice(n).some(f => f.url.startsWith('/api/v1/layers/population/'))"
        " && window.twinMap.frames > window.twinMap.drawn.frames", arg=[fetched], timeout=20_000)
    page.wait_for_timeout(300)
    assert changed_share(before, map_pixels(page)) > 0.01  # the cells of Jianghan emptied
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "live_update_population.png"))
    assert problems == []


def test_a_page_the_server_has_no_stream_for_polls_and_still_follows_the_store(browser, tmp_path):
    from bench.chromium import free_port
    from bench.server import serve_city
    from tests.conftest import DEMO_SEED
    from twin.demo import build_demo

    folder = tmp_path / "city"
    build_demo(folder, seed=DEMO_SEED, buildings=400)
    with serve_city(folder, free_port(), tmp_path / "serve.log", env={"TWIN_MAX_STREAMS": "1"}) as url:
        browser.sign_in(url, folder)
        first, _, _ = open_map(browser, url)  # holds the one stream
        second, _, problems = open_map(browser, url)
        second.wait_for_function("window.twinMap.source === null", timeout=10_000)  # refused: it polls
        fetched = second.evaluate("window.twinMap.fetches.length")
        buildings = CityStore.open(folder).read("buildings").assign(use="commercial")
        _write(folder, "buildings", buildings)
        second.wait_for_function(
            "([n]) => window.twinMap.fetches.slice(n).some(f => f.url === '/api/v1/layers/buildings/values')",
            arg=[fetched], timeout=20_000)
        first.close()
        second.close()
    assert [p for p in problems if "503" not in p] == []  # the refused stream is the only complaint
