"""The city in Chromium: bytes sent, time to the first frame, and a live update, against baselines.

    python -m bench.app [--data DIR] [--scale city|small]

Ours: the app as users get it (``twin serve``): Dash page, deck.gl from our server, the layers of the
first view as binary messages (gzip when the browser asks). The layers are whatever the registry
(``layers/registry.py``) shows at the first view: nothing here lists them.

Baselines, measured in the same run:

- the same layers as one pydeck JSON document (gzip too), drawn by pydeck's own ``createDeck`` from
  the same deck.gl bundle, in the same browser (first frame and bytes);
- the same layers as GeoParquet with GeoArrow encoding and zstd, what lonboard sends (bytes only);
- a live update of the buildings' values (same shapes): ours fetches a values-only message; the
  baseline is the same update with the whole layer fetched again. Both are timed from the store's
  commit to the first frame that shows the new values.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import flask
import geopandas as gpd
import numpy as np
import pydeck as pdk
import shapely
from playwright.sync_api import sync_playwright

from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from bench.common import report
from bench.server import SignedInBrowser, serve_city, serve_in_thread, viewer_session
from layers.registry import city_layers
from layers.spec import LayerData, LayerSpec, Renderer
from twin.city_store import CityStore
from twin.demo import build_demo
from twin.layer_service import LayerService
from twin.manifest import Source, now
from views.map_state import MapState, first_view
from views.vendor import DECK_DIR

OUT = Path("bench/out")

BASELINE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>pydeck JSON baseline</title>
<style>html,body{margin:0;height:100%;background:#0b1622}#map{position:absolute;inset:0}</style></head>
<body><div id="map"></div><script src="/deck.js"></script><script>
window.firstFrame = null;
fetch('/deck.json').then(r => r.json()).then(spec => {
  const d = createDeck({container: document.getElementById('map'), jsonInput: spec, tooltip: true});
  d.setProps({onAfterRender: () => { if (window.firstFrame === null) window.firstFrame = performance.now(); }});
});
</script></body></html>"""


def first_view_specs(service: LayerService) -> list[LayerSpec]:
    """The layers the map draws when it opens, chosen as the page chooses them (views/map_state.py)."""
    return [service.registry.get(layer) for layer, _ in first_view(service.listing(), MapState())]


def _rings(data: LayerData, digits: int) -> list[list[list[float]]]:
    r = data.rings
    return [np.round(r.coords[r.starts[i] : r.starts[i + 1]], digits).tolist() for i in range(r.count)]


def _colours(spec: LayerSpec, data: LayerData) -> list[list[int]]:
    if spec.colourings:
        rgba = spec.colourings[0].colour(data).rgba()
        return rgba[data.rings.feature].tolist()
    return [list(spec.colour)] * data.rings.count


def pydeck_json(service: LayerService, specs: list[LayerSpec]) -> str:
    """The same layers as our app draws, the way a pydeck user would hand them over."""
    layers = []
    for spec in specs:
        _, _variant, data, _, _ = service.data(spec.id, spec.default_variant)
        digits = 7 if spec.renderer is Renderer.EXTRUDED else 6
        rings, colours = _rings(data, digits), _colours(spec, data)
        if spec.renderer is Renderer.OUTLINES:
            rows = [{"path": p} for p in rings]
            layers.append(pdk.Layer("PathLayer", rows, id=spec.id, get_path="path", get_color=list(spec.colour),
                                    get_width=spec.style.get("width", 1.5), width_units="pixels"))
            if data.labels is not None:
                labels = [{"name": str(t), "position": [float(x), float(y)]}
                          for t, x, y in zip(data.labels.text, data.labels.lon, data.labels.lat, strict=True)]
                layers.append(pdk.Layer("TextLayer", labels, id=spec.id + "-labels", get_position="position",
                                        get_text="name", character_set="auto", get_size=20,
                                        get_color=[255, 255, 255, 240]))
            continue
        if spec.renderer is Renderer.LINES:  # roads: open lines, coloured by feature
            rows = [{"path": p, "color": c} for p, c in zip(rings, colours, strict=True)]
            layers.append(pdk.Layer("PathLayer", rows, id=spec.id, get_path="path", get_color="color",
                                    get_width=spec.style.get("width", 2), width_units="pixels"))
            continue
        rows = [{"polygon": p, "color": c} for p, c in zip(rings, colours, strict=True)]
        extra = {}
        if spec.renderer is Renderer.EXTRUDED:
            values = data.values
            for row, f in zip(rows, data.rings.feature.tolist(), strict=True):
                row |= {"height": float(values["height"][f]), "floors": int(values["floors"][f]),
                        "residents": int(values["residents"][f])}
            extra = {"extruded": True, "get_elevation": "height", "pickable": True}
        layers.append(pdk.Layer("SolidPolygonLayer", rows, id=spec.id, get_polygon="polygon", get_fill_color="color",
                                **extra))
    deck = pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(**MapState().view), map_provider=None,
                    map_style=None)
    return deck.to_json()


def geoparquet_bytes(service: LayerService, specs: list[LayerSpec]) -> int:
    """The same layers as GeoParquet (GeoArrow encoding, zstd): shapes and the per-feature values."""
    total = 0
    for spec in specs:
        _, _, data, _, _ = service.data(spec.id, spec.default_variant)
        r = data.rings
        lines = spec.renderer in (Renderer.OUTLINES, Renderer.LINES)
        make = shapely.linestrings if lines else shapely.polygons
        rings = [make(r.coords[r.starts[i] : r.starts[i + 1]]) for i in range(r.count)]
        columns = {name: np.asarray(v)[r.feature] for name, v in data.values.items()}
        frame = gpd.GeoDataFrame(columns, geometry=rings, crs=4326)
        sink = io.BytesIO()
        frame.to_parquet(sink, geometry_encoding="geoarrow", compression="zstd", index=False)
        total += len(sink.getvalue())
    return total


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

    return serve_in_thread(app, port)


class Wire:
    """Bytes on the wire per URL path, from Chrome's network events."""

    def __init__(self, page) -> None:
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def by_path(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, v in self.sizes.items():
            path = urlparse(self.urls.get(k, "?")).path.lstrip("/")
            out[path] = out.get(path, 0) + v
        return out


def measure_first_frame(browser, url: str, first_frame_js: str, timeout_s: float) -> dict:
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    try:
        wire = Wire(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function(f"({first_frame_js}) !== null", timeout=timeout_s * 1000, polling=200)
        first_ms = page.evaluate(first_frame_js)
        # a picture of what was drawn; software GL may take long to raster it, which is not what we measure
        page.screenshot(path=str(OUT / f"{urlparse(url).port}.png"), timeout=timeout_s * 1000)
        if errors:
            raise RuntimeError(f"the page at {url} failed: {errors[0]}")
        return {"first_frame_ms": first_ms, "bytes": wire.by_path()}
    except Exception as exc:  # a tab that runs out of memory or time is a result, not a crash of the bench
        return {"first_frame_ms": None, "bytes": {}, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    finally:
        page.close()


def median_run(runs: list[dict]) -> dict:
    """The run with the median first frame (failed runs count as the slowest), with every run's seconds."""
    ordered = sorted(runs, key=lambda r: float("inf") if r["first_frame_ms"] is None else r["first_frame_ms"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["runs"] = [None if r["first_frame_ms"] is None else round(r["first_frame_ms"] / 1000, 3) for r in runs]
    chosen["failures"] = [r["failed"] for r in runs if "failed" in r]
    return chosen


def measure_live_update(browser, url: str, store: CityStore, *, full: bool, timeout_s: float) -> dict:
    """Change the buildings' residents (same shapes) in the store; ms from the commit to the new frame, and bytes.

    With ``full``, the page is first made to forget it has the shapes, so it fetches the whole layer again.
    Before the change, a screenshot waits until the first view is on screen: software GL (SwiftShader) takes
    seconds to raster a frame of the full city, and a frame still being rastered would delay the next.
    """
    page = browser.new_page(url, viewport={"width": 1400, "height": 860})
    try:
        wire = Wire(page)
        page.goto(url)
        page.wait_for_function("window.twinMap && window.twinMap.firstFrameAt !== null", timeout=timeout_s * 1000)
        page.screenshot(timeout=timeout_s * 1000)  # the first view is on screen: nothing left to raster
        page.wait_for_timeout(500)
        if full:
            page.evaluate("window.twinMap.loaded['buildings@'].geometryVersion = 'forgotten'")
        before_fetches = page.evaluate("window.twinMap.fetches.length")
        before_bytes = dict(wire.by_path())
        buildings = store.read("buildings")
        rng = np.random.default_rng(int(time.time()))
        buildings["residents"] = rng.permutation(buildings["residents"].to_numpy())
        store.write("buildings", buildings, writer="bench.app",
                    sources=[Source(file="bench", kind="buildings", rows=len(buildings), time=now())])
        committed_ms = time.time() * 1000
        page.wait_for_function(
            "([n]) => { const m = window.twinMap; const f = m.fetches.slice(n);"
            " return f.some(x => x.url.startsWith('/api/v1/layers/buildings/'))"
            " && m.frames > m.drawn.frames && m.drawn.ticket > 0; }",
            arg=[before_fetches], timeout=timeout_s * 1000, polling=20)
        frame_ms = page.evaluate("window.twinMap.lastFrameAt")
        fetches = page.evaluate("([n]) => window.twinMap.fetches.slice(n)", [before_fetches])
        fetched = [f["url"] for f in fetches]
        answered_ms = max(f["finished"] for f in fetches)
        page.wait_for_timeout(300)
        after = wire.by_path()
        layer_bytes = sum(v - before_bytes.get(k, 0) for k, v in after.items()
                          if k.startswith("api/v1/layers/buildings"))
        return {"ms": frame_ms - committed_ms, "bytes": layer_bytes, "fetched": fetched,
                "server_ms": answered_ms - committed_ms}
    finally:
        page.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/city"), help="city store (built if missing)")
    parser.add_argument("--scale", choices=["small", "city"], default="city")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a page may take to draw")
    parser.add_argument("--repeats", type=int, default=3,
                        help="first-frame runs of each side, in a fresh browser each, taking turns (the median counts)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if not CityStore.exists_at(args.data):
        print(f"building the {args.scale} city into {args.data}", file=sys.stderr)
        build_demo(args.data, scale=args.scale)
    store = CityStore.open(args.data)
    service = LayerService(store, city_layers())
    specs = first_view_specs(service)
    original = store.read("buildings")
    started = time.perf_counter()
    spec = pydeck_json(service, specs)
    print(f"first view: {', '.join(s.id for s in specs)}; pydeck JSON: {len(spec) / 1e6:.1f} MB in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    parquet = geoparquet_bytes(service, specs)

    baseline = serve_baseline(spec, base_port := free_port())
    try:
        with serve_city(args.data, free_port(), OUT / "serve.log", seconds=600) as ours_url:
            session = viewer_session(args.data)
            for s in specs:  # let the server build and cache its layer messages first
                request = urllib.request.Request(f"{ours_url}api/v1/layers/{s.id}/data",
                                                 headers={"Cookie": f"twin_session={session[0]}"})
                with urllib.request.urlopen(request, timeout=600) as response:
                    response.read()
            with sync_playwright() as p:
                runs: dict[str, list[dict]] = {"ours": [], "base": []}
                for repeat in range(args.repeats):
                    browser = SignedInBrowser(p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
                    browser.sign_in(ours_url, args.data)
                    for side in (("ours", "base") if repeat % 2 == 0 else ("base", "ours")):
                        if side == "ours":
                            runs[side].append(measure_first_frame(
                                browser, ours_url, "window.twinMap && window.twinMap.firstFrameAt", args.timeout))
                        else:
                            runs[side].append(measure_first_frame(
                                browser, f"http://127.0.0.1:{base_port}/", "window.firstFrame", args.timeout))
                    browser.close()
                ours, base = median_run(runs["ours"]), median_run(runs["base"])
                browser = SignedInBrowser(p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
                browser.sign_in(ours_url, args.data)
                try:
                    values = measure_live_update(browser, ours_url, store, full=False, timeout_s=args.timeout)
                    whole = measure_live_update(browser, ours_url, store, full=True, timeout_s=args.timeout)
                finally:
                    store.write("buildings", original, writer="bench.app (restored)",
                                sources=[Source(file="bench", kind="buildings", rows=len(original), time=now())])
                browser.close()
    finally:
        baseline.shutdown()

    n = store.require("buildings").rows
    if "failed" in ours:
        raise SystemExit(f"our app did not draw the city: {ours['failed']}")
    failed = {"baseline_failed": base["failed"]} if "failed" in base else {}
    ours_layers = sum(v for k, v in ours["bytes"].items() if k.startswith("api/v1/layers/"))
    base_layers = base["bytes"].get("deck.json", 0)
    report("app_layer_bytes", ours_layers, "pydeck JSON (gzip)", base_layers, "bytes", buildings=n,
           layers=[s.id for s in specs])
    report("app_layer_bytes_geoparquet", ours_layers, "GeoParquet, GeoArrow encoding, zstd (lonboard)", parquet,
           "bytes", buildings=n)
    report("app_page_bytes", sum(ours["bytes"].values()), "pydeck JSON page (gzip)", sum(base["bytes"].values()),
           "bytes", buildings=n)
    base_s = base["first_frame_ms"] / 1000 if base["first_frame_ms"] is not None else None
    report("app_first_frame", ours["first_frame_ms"] / 1000, "pydeck JSON page", base_s, "s", buildings=n,
           runs=ours["runs"], baseline_runs=base["runs"], **failed,
           **({"failures": ours["failures"] + base["failures"]} if ours["failures"] + base["failures"] else {}))
    report("live_update_bytes", values["bytes"], "the whole layer again (gzip)", whole["bytes"], "bytes",
           buildings=n, fetched=values["fetched"])
    report("live_update_ms", values["ms"], "the whole layer again", whole["ms"], "ms", buildings=n,
           note="from the store's commit to the first frame with the new values",
           until_received_ms=round(values["server_ms"]), baseline_until_received_ms=round(whole["server_ms"]))


if __name__ == "__main__":
    main()
