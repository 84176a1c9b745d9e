/* The 3D city: deck.gl 9 (served by our own server) drawing binary layers from /api/layers/*.bin.
 *
 * A layer message is b"TWB1" | uint32 header length | JSON header | 8-byte aligned typed arrays
 * (see layers/wire.py). Arrays are wrapped without copying and handed to deck.gl as binary attributes.
 */
(function () {
  "use strict";

  const TYPED = {
    float32: Float32Array, float64: Float64Array, uint8: Uint8Array,
    uint16: Uint16Array, uint32: Uint32Array, int32: Int32Array,
  };

  function decodeLayer(buffer) {
    const view = new DataView(buffer);
    const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
    if (magic !== "TWB1") throw new Error("not a layer message (magic " + magic + ")");
    const size = view.getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, size)));
    const body = 8 + size;
    const arrays = {};
    for (const [name, spec] of Object.entries(header.arrays)) {
      arrays[name] = new TYPED[spec.dtype](buffer, body + spec.offset, spec.length);
    }
    if (header.meta.positions === "delta-int32-1e-7") {
      arrays.positions = sumSteps(arrays.positions, arrays.starts);
    }
    return {meta: header.meta, arrays: arrays};
  }

  // Positions come as int32 steps of 1e-7 degree from the previous vertex of the ring (the first from the
  // origin): add them up into float32 degree offsets from the origin (layers/scene.py encode_positions).
  function sumSteps(steps, starts) {
    const out = new Float32Array(steps.length);
    const rings = starts.length - 1;
    for (let r = 0; r < rings; r++) {
      let x = 0, y = 0;
      for (let v = starts[r]; v < starts[r + 1]; v++) {
        x += steps[2 * v]; y += steps[2 * v + 1];
        out[2 * v] = x * 1e-7; out[2 * v + 1] = y * 1e-7;
      }
    }
    return out;
  }

  // Where the server publishes a layer (views/layer_routes.py).
  function layerUrl(name) { return "/api/layers/" + name + ".bin"; }

  const cache = {};
  function fetchLayer(name) {
    const url = layerUrl(name);
    if (!cache[url]) {
      cache[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error("layer " + url + " answered " + r.status);
        return r.arrayBuffer();
      }).then(decodeLayer).catch(function (err) {
        delete cache[url];  // the next render asks again
        throw err;
      });
    }
    return cache[url];
  }

  // Per-feature values to the per-vertex attributes deck.gl wants for variable-size geometry.
  function perVertex(starts, count, vertexCount, size, fill) {
    const out = size === 4 ? new Uint8Array(vertexCount * 4) : new Float32Array(vertexCount);
    for (let i = 0; i < count; i++) {
      const end = i + 1 < count ? starts[i + 1] : vertexCount;
      fill(i, out, starts[i], end);
    }
    return out;
  }

  // A sequential ramp, light yellow to deep red, for counts.
  const RAMP = [[255, 255, 178], [254, 204, 92], [253, 141, 60], [240, 59, 32], [189, 0, 38]];
  function ramp(t) {
    t = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(t));
    const f = t - i;
    return RAMP[i].map(function (c, k) { return Math.round(c + f * (RAMP[i + 1][k] - c)); });
  }

  function colourFill(layer, colourBy) {
    const a = layer.arrays, n = layer.meta.count, nv = a.positions.length / 2;
    let maxResidents = 1;
    for (let i = 0; i < n; i++) if (a.residents[i] > maxResidents) maxResidents = a.residents[i];
    const colours = layer.meta.colours;
    return perVertex(a.starts, n, nv, 4, function (i, out, s, e) {
      const c = colourBy === "residents"
        ? (a.residents[i] > 0 ? ramp(Math.sqrt(a.residents[i] / maxResidents)) : [120, 130, 145])
        : colours[a.use[i]];
      for (let v = s; v < e; v++) {
        out[4 * v] = c[0]; out[4 * v + 1] = c[1]; out[4 * v + 2] = c[2]; out[4 * v + 3] = 255;
      }
    });
  }

  // Make a value once per loaded layer. deck.gl compares `data` by reference, so handing it the same
  // object on every render keeps it from tessellating 300 k polygons again when nothing changed.
  function once(layer, key, make) {
    layer.made = layer.made || {};
    if (!(key in layer.made)) layer.made[key] = make();
    return layer.made[key];
  }

  function offsets(meta) {
    return {coordinateSystem: deck.COORDINATE_SYSTEM.LNGLAT_OFFSETS, coordinateOrigin: [meta.origin[0], meta.origin[1], 0]};
  }

  function buildingsLayer(layer, colourBy) {
    const a = layer.arrays, n = layer.meta.count, nv = a.positions.length / 2;
    const elevation = once(layer, "elevation", function () {
      return perVertex(a.starts, n, nv, 1, function (i, out, s, e) { out.fill(a.height[i], s, e); });
    });
    const data = once(layer, "data-" + colourBy, function () {
      return {
        length: n,
        startIndices: a.starts.subarray(0, n),
        attributes: {
          getPolygon: {value: a.positions, size: 2},
          getFillColor: {value: colourFill(layer, colourBy), size: 4, normalized: true},
          getElevation: {value: elevation, size: 1},
        },
      };
    });
    return new deck.SolidPolygonLayer(Object.assign({
      id: "buildings",
      data: data,
      _normalize: false, _windingOrder: "CCW",
      extruded: true, pickable: true, autoHighlight: true, highlightColor: [255, 64, 64, 255],
      material: {ambient: 0.45, diffuse: 0.6, shininess: 24, specularColor: [60, 64, 70]},
    }, offsets(layer.meta)));
  }

  function populationLayer(layer) {
    const a = layer.arrays, n = layer.meta.count, nv = a.positions.length / 2;
    const data = once(layer, "data", function () {
      const max = Math.max(1, layer.meta.max);
      const fill = perVertex(a.starts, n, nv, 4, function (i, out, s, e) {
        const c = ramp(Math.sqrt(a.residents[i] / max));
        for (let v = s; v < e; v++) { out[4 * v] = c[0]; out[4 * v + 1] = c[1]; out[4 * v + 2] = c[2]; out[4 * v + 3] = 150; }
      });
      return {length: n, startIndices: a.starts.subarray(0, n),
              attributes: {getPolygon: {value: a.positions, size: 2}, getFillColor: {value: fill, size: 4, normalized: true}}};
    });
    return new deck.SolidPolygonLayer(Object.assign({
      id: "population-r" + layer.meta.resolution,
      data: data,
      _normalize: false, _windingOrder: "CCW", extruded: false, pickable: true,
      parameters: {depthWriteEnabled: false},
    }, offsets(layer.meta)));
  }

  function areaLayer(layer, id, colour) {
    const a = layer.arrays, n = a.starts.length - 1;
    return new deck.SolidPolygonLayer(Object.assign({
      id: id,
      data: once(layer, "data", function () {
        return {length: n, startIndices: a.starts.subarray(0, n), attributes: {getPolygon: {value: a.positions, size: 2}}};
      }),
      _normalize: false, _windingOrder: "CCW", getFillColor: colour, pickable: id === "water",
    }, offsets(layer.meta)));
  }

  function outlineLayer(layer) {
    const a = layer.arrays, n = a.starts.length - 1;
    return new deck.PathLayer(Object.assign({
      id: "districts",
      data: once(layer, "paths", function () {
        return {length: n, startIndices: a.starts.subarray(0, n), attributes: {getPath: {value: a.positions, size: 2}}};
      }),
      _pathType: "open", getColor: [235, 240, 255, 200], getWidth: 2, widthUnits: "pixels", pickable: false,
    }, offsets(layer.meta)));
  }

  function labelLayer(layer) {
    const labels = once(layer, "labels", function () {
      return layer.meta.names.map(function (name, i) {
        return {name: name, position: layer.meta.label_positions[i]};
      });
    });
    return new deck.TextLayer({
      id: "district-labels",
      data: labels,
      getPosition: function (d) { return d.position; },
      getText: function (d) { return d.name; },
      characterSet: "auto",
      fontFamily: getComputedStyle(document.body).fontFamily,
      getSize: 20, getColor: [255, 255, 255, 240], fontWeight: "bold",
      background: true, getBackgroundColor: [11, 22, 34, 190], backgroundPadding: [6, 3],
      billboard: true,
      parameters: {depthCompare: "always"},
    });
  }

  function tooltip(info) {
    if (info.index < 0 || !info.layer) return null;
    const id = info.layer.id;
    const loaded = window.twinMap.loaded;
    if (id === "buildings") {
      const b = loaded.buildings, i = info.index;
      const use = b.meta.uses[b.arrays.use[i]];
      return {text: use + " · " + b.arrays.floors[i] + " floors · " + b.arrays.height[i].toFixed(0) + " m · " +
        b.arrays.residents[i].toLocaleString() + " residents"};
    }
    if (id.startsWith("population")) {
      const p = loaded.population;
      return {text: p.arrays.residents[info.index].toLocaleString() + " residents in this H3 cell (res " + p.meta.resolution + ")"};
    }
    if (id === "water") return {text: loaded.water.meta.names[loaded.water.arrays.feature[info.index]]};
    return null;
  }

  // The status line lives in Dash's layout, which may not be there yet when the first frame is drawn.
  function setStatus(text) {
    if (document.getElementById("map-status") && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("map-status", {children: text});
    }
  }

  // A click (not the end of a drag) on a building opens it in the side panel. We pick on the DOM click
  // ourselves: deck's tap recognizer drops clicks when a slow (software-GL) frame lands between
  // pointerdown and pointerup.
  function listenForClicks(el) {
    let down = null;
    el.addEventListener("pointerdown", function (e) { down = [e.clientX, e.clientY]; });
    el.addEventListener("click", function (e) {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5) return;
      const box = el.getBoundingClientRect();
      const index = twinMap.pickAt(e.clientX - box.left, e.clientY - box.top);
      if (index >= 0) {
        window.dash_clientside.set_props("picked-building", {data: {index: index, at: Date.now()}});
      }
    });
  }

  const twinMap = {
    deck: null,
    loaded: {},
    frames: 0,
    firstFrameAt: null, // ms since navigation start, when the first frame with the layers was drawn
    renders: 0,
    drawn: {ticket: 0, frames: 0},
    // Draw the layers the user chose. Only the latest call draws or reports: an older one whose layers
    // arrive (or fail) later is dropped.
    render: async function (config, visible, colourBy, resolution) {
      const ticket = ++twinMap.renders;
      try {
        await twinMap._draw(ticket, config, visible, colourBy, resolution);
      } catch (err) {
        if (ticket !== twinMap.renders) return;
        console.error("map failed: " + err.message);
        setStatus("map failed: " + err.message);
      }
    },
    _draw: async function (ticket, config, visible, colourBy, resolution) {
      const want = new Set(visible || []);
      const jobs = {land: fetchLayer("land")};
      if (want.has("buildings")) jobs.buildings = fetchLayer("buildings");
      if (want.has("districts")) jobs.districts = fetchLayer("districts");
      if (want.has("water")) jobs.water = fetchLayer("water");
      if (want.has("population")) jobs.population = fetchLayer("population-r" + resolution);
      const loaded = {};
      for (const [k, p] of Object.entries(jobs)) loaded[k] = await p;
      if (ticket !== twinMap.renders) return;  // a newer choice of layers came in while these loaded
      twinMap.loaded = loaded;

      const layers = [areaLayer(loaded.land, "land", [28, 38, 52])];
      if (loaded.water) layers.push(areaLayer(loaded.water, "water", [38, 92, 150]));
      if (loaded.population) layers.push(populationLayer(loaded.population));
      if (loaded.districts) layers.push(outlineLayer(loaded.districts));
      if (loaded.buildings) layers.push(buildingsLayer(loaded.buildings, colourBy));
      if (loaded.districts) layers.push(labelLayer(loaded.districts));

      if (!twinMap.deck) {
        twinMap.deck = new deck.Deck({
          parent: document.getElementById("city-map"),
          initialViewState: config.view,
          controller: true,
          layers: layers,
          getTooltip: tooltip,
          onAfterRender: function () {
            twinMap.frames += 1;
            if (twinMap.firstFrameAt === null) twinMap.firstFrameAt = performance.now();
          },
        });
        listenForClicks(document.getElementById("city-map"));
      } else {
        twinMap.deck.setProps({layers: layers});
      }
      twinMap.drawn = {ticket: ticket, frames: twinMap.frames};  // the next frame shows this choice
      const nb = loaded.buildings ? loaded.buildings.meta.count : 0;
      setStatus("map ready: " + nb.toLocaleString() + " buildings drawn");
    },
    // The building under a screen pixel, as the click would pick it (used by the browser tests).
    pickAt: function (x, y) {
      const info = twinMap.deck.pickObject({x: x, y: y, layerIds: ["buildings"]});
      return info ? info.index : -1;
    },
  };
  window.twinMap = twinMap;

  // Start drawing the first choice of layers now, while Dash is still booting (views/city_map.py INDEX).
  const config = JSON.parse(document.getElementById("twin-map-config").textContent);
  twinMap.render(config, config.layers, config.colourBy, config.resolution);

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    twin: {
      renderMap: function (visible, colourBy, resolution) {
        twinMap.render(config, visible, colourBy, resolution);
        return window.dash_clientside.no_update;
      },
    },
  });
})();
