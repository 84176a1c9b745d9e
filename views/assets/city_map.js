/* The 3D city: deck.gl 9 (served by our own server) drawing whatever layers /api/v1/layers lists.
 *
 * The map's state (view, layers, colourings, variants, selection) lives in the URL, so a link shows exactly
 * what is on the screen. Layers arrive as binary messages (wire.js) and are drawn by the renderer their spec
 * names (renderers.js). A server-sent event stream tells of new versions: a layer whose shapes are unchanged
 * fetches only its values. The map is mounted only on the map page, and starts before Dash has booted.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("twin-map-config").textContent);
  let R = null, W = null; // renderers.js and wire.js, which Dash loads after this file (assets load by name)
  const STORAGE_KEY = "twin-map-query";

  const twinMap = {
    deck: null,
    mounted: false,
    catalog: null,
    specs: {},
    loaded: {},
    pending: {},
    state: null,
    frames: 0,
    firstFrameAt: null, // ms since navigation start: the first frame drawn with the layers in it
    lastFrameAt: null, // wall-clock ms of the latest frame (for measuring live updates from outside)
    renders: 0,
    drawn: {ticket: 0, frames: 0},
    fetches: [], // {url, part, bytes, version}: what the map asked the server for
    jobs: [],
    status: "loading map…",
    source: null,
  };
  window.twinMap = twinMap;

  // --- the state, to and from the URL -----------------------------------------------------------------------

  function pairs(text) {
    const out = {};
    for (const item of (text || "").split(",")) {
      const [k, v] = item.split(":");
      if (k && v) out[k] = v;
    }
    return out;
  }

  function parseState(search) {
    const q = new URLSearchParams(search);
    const view = Object.assign({}, config.view);
    const v = (q.get("view") || "").split(",").map(Number);
    if (v.length === 5 && v.every(Number.isFinite)) {
      const clamp = function (x, lo, hi) { return Math.min(hi, Math.max(lo, x)); };
      Object.assign(view, {longitude: clamp(v[0], -180, 180), latitude: clamp(v[1], -85, 85), zoom: clamp(v[2], 0, 22),
                           pitch: clamp(v[3], 0, 85), bearing: v[4] % 360});
    }
    const layers = twinMap.catalog.layers;
    const on = q.has("layers")
      ? new Set(q.get("layers").split(",").filter(function (id) { return id in twinMap.specs; }))
      : new Set(layers.filter(function (s) { return s.visible && s.toggle; }).map(function (s) { return s.id; }));
    const colouring = {}, variant = {};
    const askedColour = pairs(q.get("colour")), askedVariant = pairs(q.get("variant"));
    for (const s of layers) {
      if (s.colourings.length) {
        const ids = s.colourings.map(function (c) { return c.id; });
        colouring[s.id] = ids.includes(askedColour[s.id]) ? askedColour[s.id] : ids[0];
      }
      if (s.variants.length) {
        const ids = s.variants.map(function (x) { return x.id; });
        variant[s.id] = ids.includes(askedVariant[s.id]) ? askedVariant[s.id] : s.defaultVariant;
      }
    }
    let selection = null;
    const sel = q.get("sel");
    if (sel && sel.indexOf(":") > 0) {
      const at = sel.indexOf(":");
      if (sel.slice(0, at) in twinMap.specs) {
        const element = Number(q.get("el"));
        selection = {layer: sel.slice(0, at), key: sel.slice(at + 1), feature: -1,
                     element: q.has("el") && Number.isInteger(element) && element >= 0 ? element : -1};
      }
    }
    const storeys = {};
    const storey = q.get("storey");
    if (selection && storey) storeys[selection.key] = storey;
    return {view: view, on: on, colouring: colouring, variant: variant, selection: selection, storeys: storeys,
            spaces: {}};
  }

  function query() {
    const s = twinMap.state, v = s.view;
    const q = new URLSearchParams();
    q.set("view", [v.longitude.toFixed(5), v.latitude.toFixed(5), v.zoom.toFixed(2), (v.pitch || 0).toFixed(1),
      (v.bearing || 0).toFixed(1)].join(","));
    q.set("layers", Array.from(s.on).join(","));
    const colours = Object.entries(s.colouring).map(function (e) { return e.join(":"); });
    if (colours.length) q.set("colour", colours.join(","));
    const variants = Object.entries(s.variant).map(function (e) { return e.join(":"); });
    if (variants.length) q.set("variant", variants.join(","));
    if (s.selection && s.selection.key) {
      q.set("sel", s.selection.layer + ":" + s.selection.key);
      if (s.selection.element >= 0) q.set("el", String(s.selection.element));
      if (s.storeys[s.selection.key]) q.set("storey", s.storeys[s.selection.key]);
    }
    return "?" + q.toString().replace(/%2C/g, ",").replace(/%3A/g, ":");
  }

  let urlTimer = null;
  function saveUrl() {
    clearTimeout(urlTimer);
    urlTimer = setTimeout(function () {
      if (!twinMap.mounted || location.pathname !== config.mapPath) return;
      const q = query();
      history.replaceState(history.state, "", config.mapPath + q);
      try { sessionStorage.setItem(STORAGE_KEY, q); } catch (e) { /* private mode: the URL still holds it */ }
    }, 200);
  }

  // --- the catalog and the layers' data ---------------------------------------------------------------------

  function setCatalog(catalog) {
    twinMap.catalog = catalog;
    twinMap.specs = {};
    for (const s of catalog.layers) twinMap.specs[s.id] = s;
  }

  async function loadCatalog() {
    const r = await fetch("/api/v1/layers");
    if (!r.ok) throw new Error("the layer list answered " + r.status);
    setCatalog(await r.json());
  }

  async function fetchMessage(spec, variant, part) {
    const url = "/api/v1/layers/" + spec.id + "/" + part + (variant ? "?variant=" + variant : "");
    const started = performance.timeOrigin + performance.now();
    const r = await fetch(url);
    if (!r.ok) {
      let reason = r.status + "";
      try { reason = (await r.json()).error || reason; } catch (e) { /* not JSON */ }
      throw new Error(spec.id + ": " + reason);
    }
    const buffer = await r.arrayBuffer();
    const message = W.decode(buffer);
    twinMap.fetches.push({url: url, part: part, bytes: buffer.byteLength, version: message.meta.version,
                          started: started, finished: performance.timeOrigin + performance.now()});
    if (twinMap.fetches.length > 500) twinMap.fetches.splice(0, 250); // a screen may stay open all day
    return message;
  }

  function variantOf(spec) { return spec.variants.length ? twinMap.state.variant[spec.id] : ""; }

  // The version of a layer the catalog names now (it may have moved on while a message was on its way).
  function wantedVersion(id, variant) {
    const spec = twinMap.specs[id];
    const want = spec && spec.versions[variant];
    return want ? want.version : null;
  }

  // The layer's data at the version the catalog names: kept, fetched whole, or (same shapes) values only.
  function ensure(spec) {
    const variant = variantOf(spec);
    const key = spec.id + "@" + variant;
    const want = spec.versions[variant];
    if (!want) return Promise.reject(new Error(spec.id + ": not in the store yet"));
    const have = twinMap.loaded[key];
    if (have && have.version === want.version) return Promise.resolve(have);
    const pendingKey = key + "@" + want.version;
    if (!twinMap.pending[pendingKey]) {
      twinMap.pending[pendingKey] = (async function () {
        if (have && have.geometryVersion === want.geometryVersion) {
          const m = await fetchMessage(spec, variant, "values");
          if (m.meta.geometryVersion === have.geometryVersion) {
            // values older than what the catalog names now would undo a newer update: keep what we have, and
            // the render that the newer version brings fetches again
            if (m.meta.version !== wantedVersion(spec.id, variant)) return have;
            Object.assign(have.columns, m.columns);
            have.meta = Object.assign({}, have.meta, m.meta);
            have.version = m.meta.version;
            return have;
          }
        }
        const m = await fetchMessage(spec, variant, "data");
        const layer = {meta: m.meta, columns: m.columns, version: m.meta.version, geometryVersion: m.meta.geometryVersion,
                       positions: W.sumSteps(m.columns.positions, m.columns.starts)};
        const current = twinMap.loaded[key];
        if (current && current !== have && current.version === wantedVersion(spec.id, variant)) return current;
        twinMap.loaded[key] = layer;
        const sel = twinMap.state && twinMap.state.selection;
        if (have && sel && sel.layer === spec.id && sel.key) { sel.feature = -1; resolving = null; } // new shapes
        return layer;
      })().finally(function () { delete twinMap.pending[pendingKey]; });
    }
    return twinMap.pending[pendingKey];
  }

  function inZoom(spec, zoom) {
    return (spec.minZoom === null || zoom >= spec.minZoom) && (spec.maxZoom === null || zoom <= spec.maxZoom);
  }

  function wanted() {
    const s = twinMap.state;
    return twinMap.catalog.layers.filter(function (spec) {
      return spec.available && (!spec.toggle || s.on.has(spec.id)) && inZoom(spec, s.view.zoom);
    });
  }

  // --- drawing ----------------------------------------------------------------------------------------------

  function setStatus(text) {
    twinMap.status = text;
    const el = document.getElementById("map-status");
    if (el) el.textContent = text;
  }

  // Draw the layers the state asks for. Only the latest call draws: an older one whose layers arrive later
  // is dropped. A layer that fails to load is left out and named; the others still draw.
  async function render() {
    if (!twinMap.mounted || !twinMap.catalog) return;
    const ticket = ++twinMap.renders;
    const specs = wanted();
    const results = await Promise.allSettled(specs.map(ensure));
    if (ticket !== twinMap.renders || !twinMap.deck) return;
    const drawable = {}, failed = [];
    specs.forEach(function (spec, i) {
      if (results[i].status === "fulfilled") drawable[spec.id] = results[i].value;
      else failed.push(results[i].reason.message);
    });
    twinMap.drawable = drawable;
    const base = [], overlay = [];
    for (const spec of twinMap.catalog.layers) {
      const layer = drawable[spec.id];
      if (!layer) continue;
      const sel = twinMap.state.selection;
      const selected = sel && sel.layer === spec.id && sel.feature >= 0 ? R.ringOf(layer, sel.feature) : -1;
      try {
        const out = R.renderers[spec.renderer](spec, layer, {
          colouring: twinMap.state.colouring[spec.id], pickable: spec.pickable, selected: selected,
          selection: sel && sel.layer === spec.id ? sel : null, storeys: twinMap.state.storeys,
          spaces: twinMap.state.spaces,
        });
        base.push.apply(base, out.base);
        overlay.push.apply(overlay, out.overlay);
      } catch (err) { // one layer that cannot be drawn leaves the others drawn
        delete drawable[spec.id];
        failed.push(spec.id + ": " + err.message);
      }
    }
    twinMap.setPropsAt = performance.timeOrigin + performance.now();
    twinMap.deck.setProps({layers: base.concat(overlay)});
    twinMap.drawn = {ticket: ticket, frames: twinMap.frames};
    renderLegend(drawable);
    if (failed.length) {
      console.warn("layers not drawn: " + failed.join("; "));
      setStatus("not drawn: " + failed.join("; "));
    } else {
      // name the topmost layer a click picks: "map ready: 4,000 buildings drawn"
      const top = twinMap.catalog.layers.filter(function (s) { return s.pickable && drawable[s.id]; }).pop();
      setStatus("map ready: " + (top ? drawable[top.id].meta.count.toLocaleString("en-US") + " " +
        top.title.en.toLowerCase() + " drawn" : specs.length + " layers drawn"));
    }
    if (twinMap.state.selection && twinMap.state.selection.feature < 0) resolveSelection();
    showInspector();
  }

  function renderLegend(drawable) {
    const box = document.getElementById("map-legend");
    if (!box) return;
    const parts = [];
    for (const spec of twinMap.catalog.layers.slice().reverse()) {
      if (parts.length >= 3) break; // the three topmost coloured layers: a legend must not hide the map
      const layer = drawable[spec.id], colouring = twinMap.state.colouring[spec.id];
      if (!layer || !colouring || !layer.meta.legends) continue;
      const legend = layer.meta.legends[colouring];
      if (!legend) continue;
      const index = layer.columns["colour." + colouring];
      const used = new Set(index || []); // a category no feature has is left out of the legend
      const rgb = function (c) { return "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")"; };
      let html = '<div class="legend-title">' + escapeHtml(legend.title) + "</div>";
      if (legend.ramp.length) {
        const stops = legend.ramp.map(rgb).join(",");
        html += '<div class="legend-ramp"><span class="ramp" style="background:linear-gradient(90deg,' + stops + ')"></span>' +
          escapeHtml(legend.rampLabels[0]) + " → " + escapeHtml(legend.rampLabels[1]) + "</div>";
      }
      legend.items.forEach(function (item, i) {
        if (!legend.ramp.length && !used.has(i)) return;
        html += '<div><span class="swatch" style="background:' + rgb(item.colour) + '"></span>' + escapeHtml(item.label) + "</div>";
      });
      parts.push('<div class="legend" data-layer="' + spec.id + '" data-colouring="' + colouring + '">' + html + "</div>");
    }
    box.innerHTML = parts.join("");
    box.style.display = parts.length ? "block" : "none";
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function tooltip(info) {
    if (!info.layer || info.index < 0) return null;
    const spec = twinMap.specs[info.layer.id.split("#")[0]];
    const layer = spec && twinMap.drawable && twinMap.drawable[spec.id];
    if (!spec || !spec.tooltip || !layer) return null;
    const hit = R.hitOf(layer, info);
    const element = hit.element >= 0 ? R.elementOf(layer, hit.feature, hit.element) : null;
    if (element) {
      return {text: element.cls.replace(/^Ifc/, "") + (element.name ? " " + element.name : "") +
        (element.storey ? " · " + element.storey : "") + "\n" + R.format(spec.tooltip, layer, hit.feature)};
    }
    return {text: R.format(spec.tooltip, layer, hit.feature)};
  }

  // --- picking ----------------------------------------------------------------------------------------------

  // What lies under a pixel, as a click would pick it: {layer, feature, element} or null (also used by the
  // tests). ``element`` is the IFC element's number on a model, else -1.
  function pickAt(x, y) {
    if (!twinMap.deck) return null;
    const ids = (twinMap.deck.props.layers || []).map(function (l) { return l.id; }).filter(function (id) {
      const spec = twinMap.specs[id.split("#")[0]];
      return spec && spec.pickable && !/#(labels)$/.test(id) && (id === spec.id || spec.renderer === "models" ||
                                                               id === spec.id + "#fill");
    });
    const info = twinMap.deck.pickObject({x: x, y: y, layerIds: ids});
    if (!info || !info.layer) return null;
    const id = info.layer.id.split("#")[0];
    const layer = twinMap.drawable[id];
    if (!layer) return null;
    const hit = R.hitOf(layer, info);
    return {layer: id, feature: hit.feature, element: hit.element};
  }

  function whenDash(fn, tries) {
    tries = tries === undefined ? 100 : tries;
    if (window.dash_clientside && window.dash_clientside.set_props && document.getElementById("feature-panel")) fn();
    else if (tries > 0) setTimeout(function () { whenDash(fn, tries - 1); }, 200);
  }

  function tellPanel(layerId, feature) {
    const spec = twinMap.specs[layerId], layer = twinMap.drawable[layerId];
    const data = {layer: layerId, variant: variantOf(spec) || null, index: feature, version: layer.version, at: Date.now()};
    whenDash(function () { window.dash_clientside.set_props("picked-feature", {data: data}); });
  }

  async function select(layerId, feature, element) {
    const spec = twinMap.specs[layerId], layer = twinMap.drawable[layerId];
    const variant = variantOf(spec);
    const url = "/api/v1/layers/" + layerId + "/features/" + feature + "?version=" + layer.version +
      (variant ? "&variant=" + variant : "");
    const sel = {layer: layerId, key: null, feature: feature, element: element === undefined ? -1 : element};
    twinMap.state.selection = sel;
    tellPanel(layerId, feature);
    render();
    try {
      const r = await fetch(url);
      const answer = r.ok ? await r.json() : null;
      if (!twinMap.state || twinMap.state.selection !== sel) return; // another click came first
      if (answer) sel.key = answer.key;
      else twinMap.state.selection = null; // the layer moved on: the panel says so, the link drops it
      saveUrl();
    } catch (err) {
      setStatus("could not pick: " + err.message);
    }
  }

  // A selection from the URL names its feature by key: find its index, then show it.
  let resolving = null;
  async function resolveSelection() {
    const sel = twinMap.state.selection;
    if (!sel || resolving === sel) return;
    resolving = sel;
    const spec = twinMap.specs[sel.layer];
    const variant = variantOf(spec);
    let answer;
    try {
      const r = await fetch("/api/v1/layers/" + sel.layer + "/features?key=" + encodeURIComponent(sel.key) +
        (variant ? "&variant=" + variant : ""));
      answer = r.ok ? await r.json() : null;
    } catch (err) {
      resolving = null; // try again at the next render
      setStatus("could not find the selection: " + err.message);
      return;
    }
    if (!twinMap.state || twinMap.state.selection !== sel) return;
    if (!answer) {
      twinMap.state.selection = null;
      setStatus("the selected " + sel.layer + " " + sel.key + " is not on the map");
      return;
    }
    sel.feature = answer.index;
    if (twinMap.drawable[sel.layer] && !sel.told) tellPanel(sel.layer, sel.feature);
    render();
  }

  // --- the IFC model inspector: storeys to show one by one, and the element a click picked -----------------

  let inspected = {key: null, element: null, answer: null};

  function showInspector() {
    const box = document.getElementById("bim-inspector");
    if (!box || !twinMap.state) return;
    const sel = twinMap.state.selection;
    const spec = sel && twinMap.specs[sel.layer];
    const layer = spec && spec.renderer === "models" && twinMap.drawable && twinMap.drawable[sel.layer];
    const model = layer && sel.feature >= 0 ? R.modelOf(layer, sel.feature) : null;
    if (!model) { box.hidden = true; box.dataset.model = ""; return; }
    const id = model.meta.id, storey = twinMap.state.storeys[id] || null;
    const wantKey = id + "|" + sel.element;
    if (sel.element >= 0 && inspected.key !== wantKey) {
      inspected = {key: wantKey, answer: null};
      fetch("/api/v1/bim/models/" + encodeURIComponent(id) + "/elements/" + sel.element).then(function (r) {
        return r.json().then(function (body) { return r.ok ? body : {error: body.error || String(r.status)}; });
      }).catch(function (err) { return {error: err.message}; }).then(function (answer) {
        if (inspected.key === wantKey) { inspected.answer = answer; showInspector(); }
      });
    }
    const h = function (tag, attrs, text) {
      const el = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
      if (text !== undefined && text !== null) el.textContent = text;
      return el;
    };
    box.replaceChildren();
    const close = h("button", {class: "close", id: "bim-close", title: "close 关闭"}, "×");
    close.addEventListener("click", function () {
      twinMap.state.selection = null; saveUrl(); render();
    });
    box.appendChild(close);
    box.appendChild(h("h3", {id: "bim-title"}, model.meta.title));
    if (model.status === "failed") box.appendChild(h("div", {class: "status"}, "model not drawn: " + model.error));
    const storeys = h("div", {class: "storeys", id: "bim-storeys"});
    const choose = function (name) {
      if (name) twinMap.state.storeys[id] = name; else delete twinMap.state.storeys[id];
      saveUrl(); render();
    };
    const all = h("button", {"data-storey": "", class: storey ? "" : "on"}, "All 全部");
    all.addEventListener("click", function () { choose(null); });
    storeys.appendChild(all);
    for (const name of model.storeys) {
      const b = h("button", {"data-storey": name, class: storey === name ? "on" : ""}, name);
      b.addEventListener("click", function () { choose(name); });
      storeys.appendChild(b);
    }
    const rooms = h("button", {id: "bim-spaces", class: twinMap.state.spaces[id] ? "on" : ""}, "Rooms 房间");
    rooms.addEventListener("click", function () {
      twinMap.state.spaces[id] = !twinMap.state.spaces[id]; render();
    });
    storeys.appendChild(rooms);
    box.appendChild(storeys);
    const element = sel.element >= 0 ? R.elementOf(layer, sel.feature, sel.element) : null;
    const answer = sel.element >= 0 && inspected.key === wantKey ? inspected.answer : null;
    const facts = h("table", {id: "bim-element"});
    const row = function (k, v) {
      const tr = h("tr");
      tr.appendChild(h("th", {}, k));
      tr.appendChild(h("td", {}, v === null || v === undefined || v === "" ? "–" : String(v)));
      facts.appendChild(tr);
    };
    if (sel.element < 0) {
      box.appendChild(h("div", {class: "hint"}, "click a wall, door or window to see its properties 点击构件查看属性"));
    } else if (answer && answer.error) {
      box.appendChild(h("div", {class: "status"}, answer.error));
    } else {
      const e = answer || (element && {ifc_class: element.cls, name: element.name, storey: element.storey,
                                       global_id: element.globalId});
      if (e) {
        row("Class 类型", e.ifc_class);
        row("Name 名称", e.name);
        row("Storey 楼层", e.storey);
        row("GlobalId", e.global_id);
        box.appendChild(facts);
      }
      if (answer && answer.psets) {
        for (const [pset, props] of Object.entries(answer.psets)) {
          box.appendChild(h("div", {class: "pset"}, pset));
          const t = h("table", {class: "pset-table", "data-pset": pset});
          for (const [k, v] of Object.entries(props)) {
            const tr = h("tr");
            tr.appendChild(h("th", {}, k));
            tr.appendChild(h("td", {}, v === null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v)));
            t.appendChild(tr);
          }
          box.appendChild(t);
        }
      } else if (!answer) {
        box.appendChild(h("div", {class: "hint"}, "loading the element's properties…"));
      }
    }
    box.dataset.model = id;
    box.dataset.element = String(sel.element);
    box.hidden = false;
  }

  // --- drill-down and search: go to a unit or building by its code -----------------------------------------

  // Fly to a box [w, s, e, n], keeping the pitch and bearing; never closer than zoom 17, so a building is seen
  // among its neighbours rather than hidden behind the nearest tower.
  function flyTo(box, maxZoom) {
    if (!box || box.length !== 4 || !twinMap.deck || !box.every(Number.isFinite)) return;
    const el = document.getElementById("city-map");
    const v = twinMap.state.view;
    const fit = new deck.WebMercatorViewport({width: el.clientWidth || 800, height: el.clientHeight || 600})
      .fitBounds([[box[0], box[1]], [box[2], box[3]]], {padding: Math.min(80, (el.clientWidth || 800) / 8)});
    const target = {longitude: fit.longitude, latitude: fit.latitude, zoom: Math.min(fit.zoom, maxZoom || 17.5),
                    pitch: v.pitch || 0, bearing: v.bearing || 0};
    twinMap.state.view = Object.assign({}, v, target);
    const flight = twinMap.flights = (twinMap.flights || 0) + 1;
    // twinMap.landed counts the flights that have ended, at their target or cut short by the user's own move
    const land = function () { twinMap.landed = Math.max(twinMap.landed || 0, flight); };
    twinMap.deck.setProps({initialViewState: Object.assign({}, target, {
      transitionDuration: 900, transitionInterpolator: new deck.FlyToInterpolator(),
      onTransitionEnd: land, onTransitionInterrupt: land,
    })});
    saveUrl();
    render();
  }

  // Show a unit (district ... building) on the map and in the panel: its layer turned on, the unit selected
  // by its code, the view flown to its box. The city itself has no layer: the selection is cleared.
  function goTo(target) {
    if (!twinMap.mounted || !twinMap.state || !target || !target.code) return;
    const spec = target.layer ? twinMap.specs[target.layer] : null;
    const box = Array.isArray(target.bbox) ? target.bbox
      : String(target.bbox || "").split(",").filter(Boolean).map(Number);
    if (spec) {
      if (spec.toggle && !twinMap.state.on.has(spec.id)) twinMap.state.on.add(spec.id);
      const toggle = document.querySelector('#layer-toggles input[value="' + spec.id + '"]');
      if (toggle) toggle.checked = true;
      twinMap.state.selection = {layer: spec.id, key: target.code, feature: -1, told: true};
      resolving = null;
      whenDash(function () {
        window.dash_clientside.set_props("picked-feature", {data: {layer: spec.id, key: target.code,
          variant: variantOf(spec) || null, at: Date.now()}});
      });
    } else {
      twinMap.state.selection = null;
      whenDash(function () {
        window.dash_clientside.set_props("picked-feature", {data: {unit: target.code, at: Date.now()}});
      });
    }
    flyTo(box.length === 4 ? box : null, 17);
    saveUrl();
    render();
  }

  // The panel's links (breadcrumbs, the units below, search candidates) are buttons naming a unit.
  document.addEventListener("click", function (e) {
    const el = e.target.closest && e.target.closest(".drill-link");
    if (!el) return;
    e.preventDefault();
    goTo({code: el.dataset.code, layer: el.dataset.layer || null, bbox: el.dataset.bbox || ""});
  });

  // A click (not the end of a drag) picks. We pick on the DOM click ourselves: deck's tap recognizer drops
  // clicks when a slow (software-GL) frame lands between pointerdown and pointerup.
  function listenForClicks(el) {
    let down = null;
    el.addEventListener("pointerdown", function (e) { down = [e.clientX, e.clientY]; });
    el.addEventListener("click", function (e) {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5) return;
      const box = el.getBoundingClientRect();
      const hit = pickAt(e.clientX - box.left, e.clientY - box.top);
      if (hit) select(hit.layer, hit.feature, hit.element);
    });
  }

  // --- the side panel's controls (built from the catalog; Dash renders only their container) ---------------

  function label(spec) { return spec.title.en + " " + spec.title.zh; }

  function buildControls() {
    const box = document.getElementById("map-controls");
    if (!box || !twinMap.catalog || !twinMap.state || box.dataset.built === "yes") return;
    box.dataset.built = "yes";
    const s = function () { return twinMap.state; }; // read at each change: a remount brings a new state
    const h = function (tag, attrs, text) {
      const el = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
      if (text !== undefined) el.textContent = text;
      return el;
    };
    box.appendChild(h("h2", {}, "Layers 图层"));
    const toggles = h("div", {class: "toggles", id: "layer-toggles"});
    for (const spec of twinMap.catalog.layers) {
      if (!spec.toggle) continue;
      const row = h("label", {"data-layer": spec.id});
      const input = h("input", {type: "checkbox", value: spec.id});
      input.checked = s().on.has(spec.id);
      input.disabled = !spec.available;
      input.addEventListener("change", function () {
        if (input.checked) s().on.add(spec.id); else s().on.delete(spec.id);
        saveUrl(); render();
      });
      row.appendChild(input);
      row.appendChild(document.createTextNode(label(spec)));
      if (spec.minZoom !== null) row.appendChild(h("span", {class: "hint"}, " from zoom " + spec.minZoom));
      if (!spec.available) row.appendChild(h("span", {class: "hint"}, " (no data yet)"));
      toggles.appendChild(row);
    }
    box.appendChild(toggles);
    for (const spec of twinMap.catalog.layers) {
      if (spec.colourings.length > 1) {
        box.appendChild(h("h2", {}, "Colour " + spec.title.en.toLowerCase() + " by 着色"));
        box.appendChild(radios("colour-" + spec.id, spec.colourings.map(function (c) {
          return {id: c.id, text: c.title.en + " " + c.title.zh};
        }), s().colouring[spec.id], function (id) { s().colouring[spec.id] = id; saveUrl(); render(); }));
      }
      if (spec.variants.length > 1) {
        box.appendChild(h("h2", {}, spec.title.en + " " + spec.title.zh));
        box.appendChild(radios("variant-" + spec.id, spec.variants.map(function (v) {
          return {id: v.id, text: v.title};
        }), s().variant[spec.id], function (id) { s().variant[spec.id] = id; saveUrl(); render(); }));
      }
    }
    box.appendChild(h("div", {id: "map-jobs", class: "jobs"}));
    box.appendChild(h("div", {id: "map-status", class: "status"}, twinMap.status));
    showJobs();

    function radios(name, options, checked, onChange) {
      const group = h("div", {class: "radios", id: name});
      for (const o of options) {
        const row = h("label");
        const input = h("input", {type: "radio", name: name, value: o.id});
        input.checked = o.id === checked;
        input.addEventListener("change", function () { if (input.checked) onChange(o.id); });
        row.appendChild(input);
        row.appendChild(document.createTextNode(o.text));
        group.appendChild(row);
      }
      return group;
    }
  }

  function showJobs() {
    const box = document.getElementById("map-jobs");
    if (!box) return;
    const active = twinMap.jobs.filter(function (j) { return j.status === "queued" || j.status === "running"; });
    box.textContent = active.map(function (j) {
      return "⟳ " + j.title + ": " + Math.round(100 * j.progress) + "% · " + j.message;
    }).join("\n");
  }

  new MutationObserver(function () { if (twinMap.mounted) buildControls(); })
    .observe(document.documentElement, {childList: true, subtree: true});

  // --- live updates -----------------------------------------------------------------------------------------

  // When the server has no live stream to spare (it answers 503, and EventSource gives up), ask for the layer
  // list every two seconds instead (an unchanged list costs a 304), and try the stream again now and then.
  let polling = null;
  function startPolling() {
    if (polling) return;
    let ticks = 0;
    polling = setInterval(async function () {
      if (!twinMap.mounted || document.hidden) return;
      if (++ticks % 15 === 0) { stopPolling(); openStream(); return; }
      try {
        const r = await fetch("/api/v1/layers");
        if (!r.ok) return;
        const catalog = await r.json();
        if (!twinMap.catalog || catalog.generation !== twinMap.catalog.generation) { setCatalog(catalog); render(); }
        const j = await fetch("/api/v1/jobs?limit=20");
        if (j.ok) { twinMap.jobs = (await j.json()).jobs; showJobs(); }
      } catch (err) { /* the server is away: ask again at the next tick */ }
    }, 2000);
  }

  function stopPolling() {
    if (polling) clearInterval(polling);
    polling = null;
  }

  function openStream() {
    if (twinMap.source || document.hidden) return;
    const source = new EventSource("/api/v1/stream");
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) { // refused (503), not merely interrupted
        if (twinMap.source === source) twinMap.source = null;
        startPolling();
      }
    });
    source.addEventListener("open", stopPolling);
    source.addEventListener("layers", function (e) {
      twinMap.heardAt = performance.timeOrigin + performance.now();
      setCatalog(JSON.parse(e.data));
      render();
    });
    source.addEventListener("jobs", function (e) {
      twinMap.jobs = JSON.parse(e.data).jobs;
      showJobs();
    });
    twinMap.source = source;
  }

  function closeStream() {
    if (twinMap.source) twinMap.source.close();
    twinMap.source = null;
    stopPolling();
  }

  // A hidden tab gives its stream back (browsers allow few connections per server); it asks again when seen.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) closeStream();
    else if (twinMap.mounted) openStream();
  });

  // --- mounting on the map page only ------------------------------------------------------------------------

  let lastZoomSet = "";
  function zoomSet() { return wanted().map(function (s) { return s.id; }).join(","); }

  async function mount() {
    if (twinMap.mounted) return;
    twinMap.mounted = true;
    document.body.classList.add("on-map");
    if (!location.search) {
      let saved = null;
      try { saved = sessionStorage.getItem(STORAGE_KEY); } catch (e) { /* no storage */ }
      if (saved) history.replaceState(history.state, "", config.mapPath + saved);
    }
    try {
      if (config.catalog && !twinMap.catalog) setCatalog(config.catalog); // named in the page (views/pages.py)
      else await loadCatalog();
    } catch (err) {
      setStatus("map failed: " + err.message);
      console.error("map failed: " + err.message);
      return;
    }
    if (!twinMap.mounted) return;
    twinMap.state = parseState(location.search);
    lastZoomSet = zoomSet();
    twinMap.deck = new deck.Deck({
      parent: document.getElementById("city-map"),
      initialViewState: twinMap.state.view,
      controller: true,
      layers: [],
      getTooltip: tooltip,
      onViewStateChange: function (e) {
        twinMap.state.view = e.viewState;
        saveUrl();
        const now = zoomSet();
        if (now !== lastZoomSet) { lastZoomSet = now; render(); }
      },
      onAfterRender: function () {
        twinMap.frames += 1;
        twinMap.lastFrameAt = performance.timeOrigin + performance.now();
        if (twinMap.firstFrameAt === null && twinMap.drawn.ticket > 0 && twinMap.frames > twinMap.drawn.frames) {
          twinMap.firstFrameAt = performance.now();
        }
      },
    });
    buildControls();
    openStream();
    render();
  }

  function unmount() {
    if (!twinMap.mounted) return;
    twinMap.mounted = false;
    document.body.classList.remove("on-map");
    closeStream();
    if (twinMap.deck) twinMap.deck.finalize();
    twinMap.deck = null;
    twinMap.drawable = {};
    twinMap.state = null; // the next mount reads the URL again; controls built before then wait for it
    const inspector = document.getElementById("bim-inspector");
    if (inspector) inspector.hidden = true;
    resolving = null;
  }

  function route(pathname) {
    if (pathname === config.mapPath) mount(); else unmount();
  }

  twinMap.pickAt = pickAt;
  twinMap.goTo = goTo;
  twinMap.select = select;
  twinMap.render = render;
  twinMap.route = route;
  twinMap.query = function () { return twinMap.state ? query() : null; };

  listenForClicks(document.getElementById("city-map"));

  // Start drawing as soon as deck.gl and our three scripts have run, before Dash's own scripts do (they come
  // after ours in the page) and long before Dash has booted (views/pages.py INDEX). Whichever of our scripts
  // runs last starts the map.
  let started = false;
  function start() {
    if (started || !window.twinRenderers || !window.twinWire || !window.deck) return;
    started = true;
    R = window.twinRenderers;
    W = window.twinWire;
    route(location.pathname);
  }
  window.twinMapStart = start;
  start();
  document.addEventListener("DOMContentLoaded", start);

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    twin: {
      route: function (pathname) {
        route(pathname);
        return window.dash_clientside.no_update;
      },
      goTo: function (hit) {
        if (hit) goTo(hit);
        return Date.now();
      },
    },
  });
})();
