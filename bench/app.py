"""The full-scale city in Chromium: bytes sent and time to the first drawn frame, ours against pydeck JSON.

    python -m bench.app [--data DIR] [--scale city|small]

Ours: the app as users get it (``twin serve``): Dash page, deck.gl from our server, layers as binary
typed arrays (gzip when the browser asks). Baseline, in the same run and the same browser: the layers
of the app's first view (buildings, district outlines and names, land, water) as pydeck writes them,
one JSON document, gzip too, drawn by pydeck's own ``createDeck`` from the same deck.gl bundle.
Time runs from navigation start to the end of deck.gl's first frame with the layers in it.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import flask
import numpy as np
import pydeck as pdk
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from bench.common import report
from bench.server import serve_city
from layers import scene
from twin.city_data import CityData, load_city
from twin.demo import build_demo
from views.city_map import INITIAL_VIEW
from views.vendor import DECK_DIR

OUT = Path("bench/out")
DEFAULT_LAYERS = ("land", "water", "districts", "buildings")  # what the app fetches for its first view

BASELINE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>pydeck JSON baseline</title>
<style>html,body{margin:0;height:100%;background:#0b1622}#map{position:absolute;inset:0}</style></head>
<body><div id="map"></div><script src="/deck.js"></script><script>
window.firstFrame = null;
fetch('/deck.json').then(r => r.json()).then(spec => {
  const d = createDeck({container: document.getElementById('map'), jsonInput: spec, tooltip: true});
  d.setProps({onAfterRender: () => { if (window.firstFrame === null) window.firstFrame = performance.now(); }});
});
</script></body></html>"""


def pydeck_json(city: CityData) -> str:
    """The same layers as our app draws, the way a pydeck user would hand them over."""
    b = city.buildings
    colours = np.array(list(scene.USE_COLOURS.values()))
    use_index = b["use"].map({u: i for i, u in enumerate(scene.USE_COLOURS)}).to_numpy()
    buildings = [
        {"polygon": np.round(np.asarray(g.exterior.coords), 7).tolist(), "height": h, "floors": f, "use": u,
         "residents": r, "color": colours[k].tolist()}
        for g, h, f, u, r, k in zip(b.geometry, b["height_m"], b["floors"].tolist(), b["use"], b["residents"].tolist(),
                                    use_index, strict=True)
    ]
    labels = [{"name": n, "position": [p.x, p.y]}
              for n, p in zip(city.districts["name"], city.districts.geometry.representative_point(), strict=True)]
    outlines = [{"path": np.round(np.asarray(ring.coords), 6).tolist()}
                for g in city.districts.geometry for part in getattr(g, "geoms", [g])
                for ring in [part.exterior, *part.interiors]]
    land = [{"polygon": np.round(np.asarray(part.exterior.coords), 6).tolist()}
            for g in city.districts.geometry for part in getattr(g, "geoms", [g])]
    water = [{"polygon": np.round(np.asarray(part.exterior.coords), 6).tolist(), "name": n}
             for g, n in zip(city.water.geometry, city.water["name"], strict=True) for part in getattr(g, "geoms", [g])]
    layers = [
        pdk.Layer("SolidPolygonLayer", land, id="land", get_polygon="polygon", get_fill_color=[28, 38, 52]),
        pdk.Layer("SolidPolygonLayer", water, id="water", get_polygon="polygon", get_fill_color=[38, 92, 150]),
        pdk.Layer("PathLayer", outlines, id="districts", get_path="path", get_color=[235, 240, 255, 200],
                  get_width=2, width_units="pixels"),
        pdk.Layer("SolidPolygonLayer", buildings, id="buildings", get_polygon="polygon", get_elevation="height",
                  get_fill_color="color", extruded=True, pickable=True),
        pdk.Layer("TextLayer", labels, id="district-labels", get_position="position", get_text="name",
                  character_set="auto", get_size=20, get_color=[255, 255, 255, 240]),
    ]
    deck = pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(**INITIAL_VIEW), map_provider=None,
                    map_style=None)
    return deck.to_json()


def serve_baseline(spec: str, port: int) -> object:
    """Serve the baseline page in a thread; returns the server (call ``shutdown()``)."""
    app = flask.Flask("pydeck-baseline")
    packed = gzip.compress(spec.encode(), compresslevel=6)

    @app.get("/")
    def page() -> str:
        return BASELINE_PAGE

    @app.get("/deck.js")
    def bundle() -> flask.Response:
        return flask.send_from_directory(DECK_DIR, "index.js")

    @app.get("/deck.json")
    def document() -> flask.Response:
        if "gzip" in flask.request.headers.get("Accept-Encoding", ""):
            response = flask.Response(packed, mimetype="application/json")
            response.headers["Content-Encoding"] = "gzip"
            return response
        return flask.Response(spec, mimetype="application/json")

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(browser, url: str, first_frame_js: str, timeout_s: float) -> dict:
    try:
        return _measure(browser, url, first_frame_js, timeout_s)
    except Exception as exc:  # a tab that runs out of memory or time is a result, not a crash of the bench
        return {"first_frame_ms": None, "bytes": {}, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}


def _measure(browser, url: str, first_frame_js: str, timeout_s: float) -> dict:
    """Load ``url`` in a fresh page; bytes on the wire per URL path and ms to the first frame."""
    page = browser.new_page(viewport={"width": 1400, "height": 860})
    try:
        return _measure_page(page, url, first_frame_js, timeout_s)
    finally:
        page.close()


def _measure_page(page, url: str, first_frame_js: str, timeout_s: float) -> dict:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(f"({first_frame_js}) !== null", timeout=timeout_s * 1000, polling=200)
    first_ms = page.evaluate(first_frame_js)
    page.wait_for_timeout(500)
    by_path = {urls.get(k, "?").split("://", 1)[-1].split("/", 1)[-1]: v for k, v in sizes.items()}
    page.screenshot(path=str(OUT / f"{urlparse(url).port}.png"))
    if errors:
        raise RuntimeError(f"the page at {url} failed: {errors[0]}")
    return {"first_frame_ms": first_ms, "bytes": by_path}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/city"), help="built city (built if missing)")
    parser.add_argument("--scale", choices=["small", "city"], default="city")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a page may take to draw")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if not (args.data / "manifest.json").exists():
        print(f"building the {args.scale} city into {args.data}", file=sys.stderr)
        build_demo(args.data, scale=args.scale)
    city = load_city(args.data)
    started = time.perf_counter()
    spec = pydeck_json(city)
    print(f"pydeck JSON: {len(spec) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    baseline = serve_baseline(spec, base_port := free_port())
    try:
        with serve_city(args.data, free_port(), OUT / "serve.log", seconds=600) as ours_url:
            for name in DEFAULT_LAYERS:  # let the server build and cache its layer messages first
                with urllib.request.urlopen(f"{ours_url}api/layers/{name}.bin", timeout=600) as response:
                    response.read()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                ours = measure(browser, ours_url, "window.twinMap && window.twinMap.firstFrameAt", args.timeout)
                base = measure(browser, f"http://127.0.0.1:{base_port}/", "window.firstFrame", args.timeout)
                browser.close()
    finally:
        baseline.shutdown()

    n = city.manifest["buildings"]
    if "failed" in ours:
        raise SystemExit(f"our app did not draw the city: {ours['failed']}")
    failed = {"baseline_failed": base["failed"]} if "failed" in base else {}
    ours_layers = sum(v for k, v in ours["bytes"].items() if k.startswith("api/layers/"))
    base_layers = base["bytes"].get("deck.json", 0)
    report("app_layer_bytes", ours_layers, "pydeck JSON (gzip)", base_layers, "bytes", buildings=n)
    report("app_page_bytes", sum(ours["bytes"].values()), "pydeck JSON page (gzip)", sum(base["bytes"].values()),
           "bytes", buildings=n)
    base_s = base["first_frame_ms"] / 1000 if base["first_frame_ms"] is not None else None
    report("app_first_frame", ours["first_frame_ms"] / 1000, "pydeck JSON page", base_s, "s", buildings=n, **failed)


if __name__ == "__main__":
    main()
