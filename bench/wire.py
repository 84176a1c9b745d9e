"""The browser wire format: our layer messages (TWB2) against Arrow IPC, bytes and decode time in Chromium.

    python -m bench.wire [--data DIR] [--scale city|small] [--timeout S]

The question (the issue): the wire carries 64-bit integers (H3 cell ids), dictionary-coded text,
nulls and timestamps in binary; extend our own format or move to Arrow IPC with the apache-arrow
JavaScript package? This settles it by measurement, on the full city, both in the same run.

Ours: the full message of the buildings layer and of the population layer (H3 res 9) exactly as the
server sends it (``LayerService.message(...).plain``, gzip level 6 on the wire), decoded in the page
by ``views/assets/wire.js`` (``twinWire.decode``).

Baseline: the same content as one Arrow IPC stream (one record batch), made with pyarrow from our
decoded message: the int32 position steps as a ``list<int32>`` column (one list per ring, so our
``starts`` become the list offsets), ``cell`` as uint64, text as ``dictionary<int8|16|32, string>``,
the other numbers with the same types, and our JSON meta (origin, palettes, legends, versions) in the
schema metadata. The stream is written uncompressed and gzipped at level 6 like ours. It is decoded
in the same page by apache-arrow's browser bundle (``Arrow.es2015.min.js``, the file the package
names for ``unpkg``/``jsdelivr``), which ``make setup`` installs from the npm registry into the venv
(``package.json`` pins it; never committed). The run fails if the two sides do not carry the same
values (checked in Python by reading the stream back) or do not end with typed arrays of the same
lengths (checked in the page).

Decode time is the median of 15 runs per side, after 3 warm-up runs, alternating which side goes
first, timed in the page with ``performance.now()`` (the page is cross-origin isolated, so the timer
is fine-grained). Both buffers are fetched once, outside the timing. Ours is ``twinWire.decode`` plus
reading every column (typed array lengths, the dictionary strings). Arrow is ``tableFromIPC`` plus
taking every column's typed arrays out of its one Data chunk (the list's child values and value
offsets, the dictionary's indices, and its strings read one by one) and parsing the meta: both end
with zero-copy typed arrays ready for deck.gl. The first (cold) run of each side is reported too.

Arrow IPC body compression (LZ4/ZSTD buffers inside the stream): for years apache-arrow JS could not
read it at all (apache/arrow#24833, ex ARROW-8674; apache/arrow#40612 still lists it in 2024).
Reading was added in 2025 (apache/arrow-js PR #14) and is in 21.2.0: ``ipc/reader`` decompresses
each buffer through ``compressionRegistry``, and throws "Record batch is compressed but codec not
found" otherwise. The package ships no codec (its dependencies are flatbuffers, tslib,
json-with-bigint): the page has to register one itself, ``compressionRegistry.set(
CompressionType.LZ4_FRAME | ZSTD, {decode})``, from a second package (lz4js, zstd-codec) with bytes
and decode time of its own; how to do so is not documented yet (apache/arrow-js#298). Arrow's
format notes advise against compressing buffers inside a stream that HTTP compresses again. So
the baseline is an uncompressed stream with HTTP gzip, as ours is; the size of the same stream with
ZSTD buffers (and no gzip) is printed as ``baseline_ipc_zstd_bytes``, for reference, bytes only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import flask
import numpy as np
import pandas as pd
import pyarrow as pa
from playwright.sync_api import sync_playwright

from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from bench.common import report
from bench.server import serve_in_thread
from layers.registry import city_layers
from layers.wire import decode
from twin.city_store import CityStore
from twin.demo import build_demo
from twin.layer_service import LayerService

OUT = Path("bench/out")
#: Where `make setup` installs apache-arrow from the npm registry (inside the venv, never committed).
NPM = Path(sys.prefix) / "npm"
#: The apache-arrow version package.json pins for this baseline.
ARROW_JS = json.loads((Path(__file__).resolve().parents[1] / "package.json").read_text())["devDependencies"][
    "apache-arrow"]
ARROW_BUNDLE = "Arrow.es2015.min.js"
ASSETS = Path(__file__).resolve().parents[1] / "views" / "assets"
LAYERS = (("buildings", None), ("population", "r9"))
META_KEY = "twin.meta"
RUNS, WARM_UP = 15, 3

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>wire formats</title></head><body>
<script src="/wire.js"></script><script src="/arrow.js"></script><script>
"use strict";
async function load(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.arrayBuffer();
}

// Ours: decode, then read every column as deck.gl would get it.
function ours(buf) {
  const m = twinWire.decode(buf);
  const out = {};
  let chars = 0;
  for (const [name, c] of Object.entries(m.columns)) {
    if (c.kind === "dictionary") {
      out[name] = c.codes.length;
      out[name + ".dictionary"] = c.strings.length;
      for (const s of c.strings) chars += s.length;
    } else {
      out[name] = c.length;
    }
    if (c.valid) out[name + ".valid"] = c.valid.length;
  }
  out["meta.keys"] = Object.keys(m.meta).length;
  out.chars = chars;
  return out;
}

// Arrow: decode, then take each column's typed arrays out of its one Data chunk.
function arrow(buf) {
  const t = Arrow.tableFromIPC(buf);
  const meta = JSON.parse(t.schema.metadata.get("__META__"));
  const out = {};
  let chars = 0;
  for (const f of t.schema.fields) {
    const col = t.getChild(f.name);
    if (col.data.length !== 1) throw new Error(f.name + " comes in " + col.data.length + " chunks, not 1");
    const d = col.data[0];
    if (Arrow.DataType.isList(f.type)) {
      const values = d.children[0].values.subarray(0, d.children[0].length);
      out[f.name] = values.length;
      out.starts = d.valueOffsets.subarray(0, d.length + 1).length;
    } else if (Arrow.DataType.isDictionary(f.type)) {
      out[f.name] = d.values.subarray(0, d.length).length;
      const dict = d.dictionary;
      out[f.name + ".dictionary"] = dict.length;
      for (let i = 0; i < dict.length; i++) chars += dict.get(i).length;
    } else {
      out[f.name] = d.values.subarray(0, d.length).length;
    }
    if (d.nullBitmap && d.nullBitmap.length) out[f.name + ".valid"] = Math.ceil(d.length / 8);
  }
  out["meta.keys"] = Object.keys(meta).length;
  out.chars = chars;
  return out;
}

window.wireResult = undefined;
window.runWire = async function (layers, runs, warm) {
  try {
    const results = {isolated: self.crossOriginIsolated};
    for (const layer of layers) {
      const ob = await load("/ours/" + layer), ab = await load("/arrow/" + layer);
      const sides = {ours: () => ours(ob), arrow: () => arrow(ab)};
      const times = {ours: [], arrow: []}, lengths = {};
      for (let i = 0; i < warm + runs; i++) {
        for (const side of (i % 2 ? ["arrow", "ours"] : ["ours", "arrow"])) {
          const t0 = performance.now();
          const got = sides[side]();
          times[side].push(performance.now() - t0);
          if (i === 0) lengths[side] = got;
        }
      }
      results[layer] = {times: times, lengths: lengths, bytes: {ours: ob.byteLength, arrow: ab.byteLength}};
    }
    window.wireResult = results;
  } catch (e) {
    window.wireResult = {error: String(e && e.stack || e)};
  }
};
</script></body></html>""".replace("__META__", META_KEY)


# --- the same content as Arrow IPC ---------------------------------------------------------------------------


def _index_type(count: int) -> pa.DataType:
    return pa.int8() if count <= 0x7F else pa.int16() if count <= 0x7FFF else pa.int32()


def _arrow_array(values: Any) -> pa.Array:
    """One decoded column of ours as the Arrow array of the same type and values."""
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        mask = codes < 0
        indices = pa.array(codes, type=_index_type(len(values.categories)), mask=mask if mask.any() else None)
        return pa.DictionaryArray.from_arrays(indices, pa.array([str(c) for c in values.categories], pa.string()))
    if isinstance(values, pd.api.extensions.ExtensionArray):  # nullable numbers and bools
        return pa.array(values)
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return pa.array(array.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC"), from_pandas=True)
    return pa.array(array)


def arrow_batch(message: bytes) -> pa.RecordBatch:
    """Our message as one Arrow record batch with the same columns, types, values and meta."""
    columns, meta = decode(message)
    if "ring_feature" in columns or any(k.startswith("label_") for k in columns):
        raise SystemExit("bench.wire compares layers whose rings are their features (one ring each, no labels)")
    starts = columns.pop("starts").astype(np.int64)
    positions = columns.pop("positions")
    if 2 * starts[-1] >= 2**31:
        raise SystemExit("too many vertices for list<int32> offsets")
    arrays = {"positions": pa.ListArray.from_arrays(pa.array((2 * starts).astype(np.int32)),
                                                    pa.array(positions, pa.int32()))}
    arrays |= {name: _arrow_array(values) for name, values in columns.items()}
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise SystemExit(f"columns of different lengths cannot make one record batch: {lengths}")
    batch = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    return batch.replace_schema_metadata({META_KEY: json.dumps(meta, ensure_ascii=False, separators=(",", ":"))})


def ipc_stream(batch: pa.RecordBatch, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def check_same(message: bytes, stream: bytes) -> None:
    """Read the Arrow stream back and compare it, column by column, with our message; exit if they differ."""
    columns, meta = decode(message)
    reader = pa.ipc.open_stream(stream)
    table = reader.read_all()
    problems = []
    if table.num_rows != len(columns["starts"]) - 1 or any(c.num_chunks != 1 for c in table.columns):
        problems.append("not one batch of one row per ring")
    if json.loads(table.schema.metadata[META_KEY.encode()]) != meta:
        problems.append("meta")
    lists = table.column("positions").chunk(0)
    if not (np.array_equal(lists.values.to_numpy(), columns.pop("positions"))
            and np.array_equal(lists.offsets.to_numpy(), 2 * columns.pop("starts").astype(np.int64))):
        problems.append("positions")
    for name, ours in columns.items():
        theirs = table.column(name).chunk(0)
        if isinstance(ours, pd.Categorical):
            same = (pa.types.is_dictionary(theirs.type) and pa.types.is_signed_integer(theirs.type.index_type)
                    and theirs.dictionary.to_pylist() == [str(c) for c in ours.categories]
                    and theirs.indices.fill_null(-1).to_numpy().tolist() == np.asarray(ours.codes).tolist())
        elif isinstance(ours, np.ndarray) and ours.dtype.kind in "iuf":
            same = theirs.type == pa.from_numpy_dtype(ours.dtype) and np.array_equal(theirs.to_numpy(), ours)
        else:
            same = theirs.equals(_arrow_array(ours))
        if not same:
            problems.append(name)
    if problems:
        raise SystemExit(f"the Arrow stream does not carry the same content as our message: {', '.join(problems)}")


# --- apache-arrow for the browser ----------------------------------------------------------------------------


def arrow_js() -> tuple[Path, str]:
    """The apache-arrow browser bundle `make setup` installed from the npm registry (package.json pins it)."""
    package = NPM / "node_modules" / "apache-arrow"
    bundle = package / ARROW_BUNDLE
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = None
    if not bundle.exists() or version != ARROW_JS:
        raise SystemExit(f"apache-arrow {ARROW_JS} is not installed in {NPM} (found {version}); run `make setup`, "
                         f"which installs the browser's packages from the npm registry (package-lock.json)")
    return bundle, version


# --- the page ------------------------------------------------------------------------------------------------


def serve(messages: dict[str, bytes], bundle: Path, port: int) -> object:
    """Serve the page, both decoders and the messages in a thread; returns the server (call ``shutdown()``)."""
    app = flask.Flask("wire-bench")
    packed = {path: gzip.compress(data, compresslevel=6) for path, data in messages.items()}

    @app.after_request
    def isolate(response: flask.Response) -> flask.Response:  # for a fine-grained performance.now()
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
        return response

    @app.get("/")
    def page() -> str:
        return PAGE

    @app.get("/wire.js")
    def ours_js() -> flask.Response:
        return flask.send_from_directory(ASSETS, "wire.js")

    @app.get("/arrow.js")
    def arrow_bundle() -> flask.Response:
        return flask.send_file(bundle.resolve(), mimetype="text/javascript")

    @app.get("/<fmt>/<layer>")
    def message(fmt: str, layer: str) -> flask.Response:
        path = f"{fmt}/{layer}"
        if path not in messages:
            flask.abort(404)
        if "gzip" in flask.request.headers.get("Accept-Encoding", ""):
            response = flask.Response(packed[path], mimetype="application/octet-stream")
            response.headers["Content-Encoding"] = "gzip"
            return response
        return flask.Response(messages[path], mimetype="application/octet-stream")

    return serve_in_thread(app, port)


def measure_decode(url: str, layers: list[str], timeout_s: float) -> dict[str, Any]:
    """Per layer: the decode times of both sides (ms, every run) and the array lengths each ended with."""
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("typeof window.runWire === 'function' && typeof Arrow === 'object'",
                                   timeout=timeout_s * 1000)
            page.evaluate("([layers, runs, warm]) => { window.runWire(layers, runs, warm); }",
                          [layers, RUNS, WARM_UP])
            page.wait_for_function("window.wireResult !== undefined", timeout=timeout_s * 1000, polling=100)
            result = page.evaluate("window.wireResult")
        finally:
            browser.close()
    if errors or "error" in result:
        raise SystemExit(f"the page failed: {result.get('error') or errors[0]}")
    return result


# --- the run -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/out/city"), help="city store (built if missing)")
    parser.add_argument("--scale", choices=["small", "city"], default="city")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the browser may take")
    args = parser.parse_args(argv)
    if not CityStore.exists_at(args.data):
        print(f"building the {args.scale} city into {args.data}", file=sys.stderr)
        build_demo(args.data, scale=args.scale)
    store = CityStore.open(args.data)  # read only: nothing below writes to the store
    service = LayerService(store, city_layers())
    bundle, version = arrow_js()
    baseline = f"Arrow IPC stream (apache-arrow JS {version})"

    messages: dict[str, bytes] = {}
    sizes: dict[str, dict[str, Any]] = {}
    for layer, variant in LAYERS:
        built = service.message(layer, variant, "full")
        batch = arrow_batch(built.plain)
        stream = ipc_stream(batch)
        check_same(built.plain, stream)
        messages[f"ours/{layer}"], messages[f"arrow/{layer}"] = built.plain, stream
        sizes[layer] = {"rows": batch.num_rows, "ours_raw": len(built.plain), "ours": len(built.packed),
                        "arrow_raw": len(stream), "arrow": len(gzip.compress(stream, compresslevel=6)),
                        "arrow_zstd": len(ipc_stream(batch, "zstd")), "columns": batch.schema.names}
        print(f"{layer}: {batch.num_rows:,} rows; ours {len(built.plain):,} B ({len(built.packed):,} gzip), "
              f"Arrow IPC {len(stream):,} B ({sizes[layer]['arrow']:,} gzip)", file=sys.stderr)

    server = serve(messages, bundle, port := free_port())
    try:
        print(f"decoding in Chromium, {RUNS} runs per side after {WARM_UP} warm-up runs", file=sys.stderr)
        result = measure_decode(f"http://127.0.0.1:{port}/", [layer for layer, _ in LAYERS], args.timeout)
    finally:
        server.shutdown()

    timed: dict[str, dict[str, Any]] = {}
    for layer, _ in LAYERS:
        got = result[layer]
        ours_len, arrow_len = got["lengths"]["ours"], got["lengths"]["arrow"]
        if ours_len != arrow_len:
            raise SystemExit(f"{layer}: the two decoders did not give the same arrays: ours {ours_len}, "
                             f"Arrow {arrow_len}")
        if got["bytes"] != {"ours": sizes[layer]["ours_raw"], "arrow": sizes[layer]["arrow_raw"]}:
            raise SystemExit(f"{layer}: the page fetched {got['bytes']} bytes, not the messages made here")
        timed[layer] = {side: (statistics.median(t[WARM_UP:]), t[0]) for side, t in got["times"].items()}

    common = {"arrow_js": version, "bundle": ARROW_BUNDLE}
    for layer, _ in LAYERS:
        s = sizes[layer]
        report(f"wire_bytes_{layer}", s["ours"], baseline, s["arrow"], "bytes", rows=s["rows"],
               ours_raw=s["ours_raw"], baseline_raw=s["arrow_raw"], baseline_ipc_zstd_bytes=s["arrow_zstd"],
               encoding="gzip level 6, as the server sends", columns=s["columns"], **common)
    for layer, _ in LAYERS:
        (ours_ms, ours_first), (arrow_ms, arrow_first) = timed[layer]["ours"], timed[layer]["arrow"]
        report(f"wire_decode_{layer}", ours_ms, baseline, arrow_ms, "ms", rows=sizes[layer]["rows"],
               runs=RUNS, ours_first_ms=round(ours_first, 3), baseline_first_ms=round(arrow_first, 3),
               isolated_timer=result["isolated"], arrays=result[layer]["lengths"]["ours"], **common,
               note="median in Chromium: decode to zero-copy typed arrays, every column read")


if __name__ == "__main__":
    main()
