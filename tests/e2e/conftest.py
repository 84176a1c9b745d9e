"""A real server and a real Chromium (Debian's, driven by Playwright from pip; no browser download)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from bench.server import SignedInBrowser, serve_city
from tests.conftest import DEMO_SEED
from twin.demo import build_demo

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def server_url(built_city_dir: Path, tmp_path_factory: pytest.TempPathFactory, browser: SignedInBrowser
               ) -> Iterator[str]:
    """The session's demo city served read-only by the tests (nothing writes to its tables); the browser's
    pages open it signed in as a user who may see everything."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with serve_city(built_city_dir, free_port(), log) as url:
        browser.sign_in(url, built_city_dir)
        yield url


@pytest.fixture(scope="module")
def live_city(tmp_path_factory: pytest.TempPathFactory, browser: SignedInBrowser) -> Iterator[tuple[str, Path]]:
    """A city of this module's own, served with its embedded worker, for tests that write to the store."""
    folder = tmp_path_factory.mktemp("live") / "city"
    build_demo(folder, seed=DEMO_SEED, scale="small")
    with serve_city(folder, free_port(), folder.parent / "serve.log") as url:
        browser.sign_in(url, folder)
        yield url, folder


@pytest.fixture(scope="session")
def browser() -> Iterator[SignedInBrowser]:
    """Debian's Chromium; ``browser.new_page(url)`` opens a page signed in to that server (see ``sign_in``),
    ``browser.browser.new_page()`` one that is not."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = SignedInBrowser(p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
        yield b
        b.close()


def open_map(browser: SignedInBrowser, url: str) -> tuple[Page, list[str], list[str]]:
    """A new page on ``url``, waited until the map has drawn its layers; with its requests and problems."""
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    page.wait_for_function("window.twinMap.firstFrameAt !== null", timeout=60_000)
    page.wait_for_timeout(300)
    return page, requests, problems


def redraw(page: Page, action) -> None:
    """Do what the user does, then wait until deck.gl has drawn a frame with the new choice of layers."""
    before = page.evaluate("window.twinMap.renders")
    action()
    wait_for_frame_after(page, before)


def wait_for_frame_after(page: Page, renders: int, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "([t]) => window.twinMap.drawn.ticket > t && window.twinMap.frames > window.twinMap.drawn.frames",
        arg=[renders], timeout=timeout,
    )
    page.wait_for_timeout(200)  # let the compositor put the frame on screen


def map_pixels(page: Page) -> np.ndarray:
    png = page.locator("#city-map").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).sum(axis=-1) > 30).mean())


def drawn_layers(page: Page) -> list[str]:
    return page.evaluate("window.twinMap.deck.props.layers.map(l => l.id)")


FIND = """([x0, x1, y0, y1, step, layer]) => {
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const hit = window.twinMap.pickAt(x, y);
      if (hit && (layer === null || hit.layer === layer)) return [x, y, hit.layer, hit.feature];
    }
  }
  return null;
}"""


def find_feature(page: Page, layer: str | None) -> tuple[int, int, str, int]:
    """A pixel in the middle of the map where a click picks a feature of ``layer``, and that feature."""
    box = page.locator("#city-map").bounding_box()
    w, h = box["width"], box["height"]
    found = page.evaluate(FIND, [int(w * 0.25), int(w * 0.75), int(h * 0.25), int(h * 0.8), 12, layer])
    assert found is not None, f"no {layer or 'feature'} under any pixel in the middle of the map"
    x, y, hit_layer, feature = found
    return int(box["x"] + x), int(box["y"] + y), hit_layer, int(feature)
