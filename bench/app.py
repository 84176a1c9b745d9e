"""The full-scale city in Chromium: bytes sent and time to the first drawn frame, ours against pydeck JSON.

    python -m bench.app [--data DIR] [--scale city|small]

Ours: the app as users get it (``twin serve``): Dash page, deck.gl from our server, layers as binary
typed arrays (gzip when the browser asks). Baseline, in the same run and the same browser: the same
layers (buildings, population hexagons at res 8, district outlines, land, water) as pydeck writes them,
one JSON document, gzip too, drawn by pydeck's own ``createDeck`` from the same deck.gl bundle.
Time runs from navigation start to the end of deck.gl's first frame with the layers in it.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import flask
import numpy as np
import pydeck as pdk
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from bench.common import report
from layers import scene
from layers.cells import cell_to_string
from twin.city_data import CityData, load_city
from twin.demo import build_demo
from views.vendor import DECK_DIR

CHROMIUM_ARGS = [
    "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEW = {"longitude": 114.30, "latitude": 30.575, "zoom": 12.6, "pitch": 50, "bearing": -20}

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
    hexes = city.population.at(8)
    population = [{"hex": cell_to_string(c), "residents": int(r)} for c, r in zip(hexes["cell"], hexes["residents"],
                                                                                strict=True)]
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
        pdk.Layer("H3HexagonLayer", population, id="population", get_hexagon="hex", get_fill_color=[240, 59, 32, 150],
                  extruded=False, pickable=True),
        pdk.Layer("PathLayer", outlines, id="districts", get_path="path", get_color=[235, 240, 255, 200],
                  get_width=2, width_units="pixels"),
        pdk.Layer("SolidPolygonLayer", buildings, id="buildings", get_polygon="polygon", get_elevation="height",
                  get_fill_color="color", extruded=True, pickable=True),
    ]
    deck = pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(**VIEW), map_provider=None, map_style=None)
    return deck.to_json()


def serve_baseline(spec: str, port: int) -> threading.Thread:
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def measure(browser, url: str, first_frame_js: str, timeout_s: float) -> dict:
    try:
        return _measure(browser, url, first_frame_js, timeout_s)
    except Exception as exc:  # a tab that runs out of memory or time is a result, not a crash of the bench
        return {"first_frame_ms": None, "bytes": {}, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}


def _measure(browser, url: str, first_frame_js: str, timeout_s: float) -> dict:
    """Load ``url`` in a fresh page; bytes on the wire per URL path and ms to the first frame."""
    page = browser.new_page(viewport={"width": 1400, "height": 860})
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
    page.screenshot(path=str(Path("bench/out") / f"{url.split(':')[2].split('/')[0]}.png"))
    page.close()
    if errors:
        raise RuntimeError(f"the page at {url} failed: {errors[0]}")
    return {"first_frame_ms": first_ms, "bytes": by_path}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/city"), help="built city (built if missing)")
    parser.add_argument("--scale", choices=["small", "city"], default="city")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a page may take to draw")
    args = parser.parse_args(argv)
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    if not (args.data / "manifest.json").exists():
        print(f"building the {args.scale} city into {args.data}", file=sys.stderr)
        build_demo(args.data, scale=args.scale)
    city = load_city(args.data)
    started = time.perf_counter()
    spec = pydeck_json(city)
    print(f"pydeck JSON: {len(spec) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    ours_port, base_port = 8071, 8072
    twin = Path(sys.executable).parent / "twin"
    server = subprocess.Popen([str(twin), "serve", "--data", str(args.data), "--port", str(ours_port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serve_baseline(spec, base_port)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ours_port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        for name in ("buildings", "population-r8", "districts", "land", "water"):  # warm the server's caches
            urllib.request.urlopen(f"http://127.0.0.1:{ours_port}/api/layers/{name}.bin", timeout=600).read()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            ours = measure(browser, f"http://127.0.0.1:{ours_port}/", "window.twinMap && window.twinMap.firstFrameAt",
                           args.timeout)
            base = measure(browser, f"http://127.0.0.1:{base_port}/", "window.firstFrame", args.timeout)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

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
