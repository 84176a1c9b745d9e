/* One small renderer per kind of layer (layers/spec.py Renderer). A renderer turns a layer spec and its
 * loaded message into deck.gl layers; it knows nothing of which layer it draws. Colours come from the
 * server (a palette and one index per feature), so the renderers only look them up.
 *
 * Shapes (positions, ring starts) go to deck.gl as binary attributes in one `data` object that is kept
 * for as long as the shapes' version holds; values (heights, colours) are expanded to per-vertex binary
 * attributes in that same object and re-read through update triggers, so new values redraw without
 * tessellating the shapes again.
 */
(function () {
  "use strict";

  const wire = () => window.twinWire;

  function offsets(meta) {
    return {coordinateSystem: deck.COORDINATE_SYSTEM.LNGLAT_OFFSETS, coordinateOrigin: [meta.origin[0], meta.origin[1], 0]};
  }

  // The feature a ring (deck.gl's polygon or path index) belongs to.
  function featureOf(layer, ring) {
    const rf = layer.columns.ring_feature;
    return rf ? rf[ring] : ring;
  }

  // The first ring of a feature, for highlighting it.
  function ringOf(layer, feature) {
    const rf = layer.columns.ring_feature;
    if (!rf) return feature;
    for (let r = 0; r < rf.length; r++) if (rf[r] === feature) return r;
    return -1;
  }

  // The binary shapes of a layer, made once per geometry version.
  function shapes(layer, kind) {
    layer.shapes = layer.shapes || {};
    if (!layer.shapes[kind]) {
      const c = layer.columns, n = c.starts.length - 1;
      const attribute = kind === "paths" ? "getPath" : "getPolygon";
      layer.shapes[kind] = {length: n, startIndices: c.starts.subarray(0, n), attributes: {[attribute]: {value: layer.positions, size: 2}}};
    }
    return layer.shapes[kind];
  }

  // Per-vertex values from per-feature ones: deck.gl takes variable-size polygons' attributes by vertex.
  function byVertex(layer, size, fill) {
    const starts = layer.columns.starts, rings = starts.length - 1;
    const out = size === 4 ? new Uint8Array(starts[rings] * 4) : new Float32Array(starts[rings]);
    for (let r = 0; r < rings; r++) fill(featureOf(layer, r), out, starts[r], starts[r + 1]);
    return out;
  }

  // Put a per-vertex attribute into the layer's (kept) data object when its key changes. deck.gl reads it
  // again when the matching update trigger changes, without tessellating the shapes again.
  function vertexAttribute(data, accessor, key, make) {
    data.keys = data.keys || {};
    if (data.keys[accessor] !== key) {
      data.attributes[accessor] = make();
      data.keys[accessor] = key;
    }
  }

  // The fill colours of a colouring (palette + one index per feature, from the server), or none: the
  // spec's one colour then applies.
  function fillColours(spec, layer, data, colouring) {
    const index = colouring ? layer.columns["colour." + colouring] : null;
    if (!index) {
      delete data.attributes.getFillColor;
      if (data.keys) delete data.keys.getFillColor;
      return "fixed";
    }
    const key = colouring + "@" + layer.version;
    vertexAttribute(data, "getFillColor", key, function () {
      const palette = layer.meta.palettes[colouring];
      return {value: byVertex(layer, 4, function (f, out, s, e) {
        const c = palette[index[f]];
        for (let v = s; v < e; v++) { out[4 * v] = c[0]; out[4 * v + 1] = c[1]; out[4 * v + 2] = c[2]; out[4 * v + 3] = c[3]; }
      }), size: 4, normalized: true};
    });
    return key;
  }

  function extruded(spec, layer, ctx) {
    const data = shapes(layer, "polygons");
    const colourKey = fillColours(spec, layer, data, ctx.colouring);
    const height = layer.columns[spec.bindings.elevation];
    vertexAttribute(data, "getElevation", layer.version, function () {
      return {value: byVertex(layer, 1, function (f, out, s, e) { out.fill(height[f], s, e); }), size: 1};
    });
    return {base: [new deck.SolidPolygonLayer(Object.assign({
      id: spec.id,
      data: data,
      _normalize: false, _windingOrder: "CCW",
      extruded: true, pickable: ctx.pickable, autoHighlight: ctx.pickable,
      highlightColor: spec.style.highlight || [255, 64, 64, 255],
      highlightedObjectIndex: ctx.selected,
      getFillColor: spec.colour,
      updateTriggers: {getFillColor: colourKey, getElevation: layer.version},
      material: {ambient: 0.45, diffuse: 0.6, shininess: 24, specularColor: [60, 64, 70]},
    }, offsets(layer.meta)))], overlay: []};
  }

  function areas(spec, layer, ctx) {
    const data = shapes(layer, "polygons");
    const colourKey = fillColours(spec, layer, data, ctx.colouring);
    const props = {
      id: spec.id,
      data: data,
      _normalize: false, _windingOrder: "CCW", extruded: false,
      pickable: ctx.pickable || Boolean(spec.tooltip),
      autoHighlight: ctx.pickable, highlightColor: [255, 255, 255, 60],
      highlightedObjectIndex: ctx.selected,
      getFillColor: spec.colour,
      updateTriggers: {getFillColor: colourKey},
    };
    if (spec.style.depthWrite === false) props.parameters = {depthWriteEnabled: false};
    return {base: [new deck.SolidPolygonLayer(Object.assign(props, offsets(layer.meta)))], overlay: []};
  }

  function outlines(spec, layer, ctx) {
    const base = [];
    const overlay = [];
    if (spec.style.hoverFill) {
      // nearly transparent fills: what the pointer hovers and clicks inside a unit
      base.push(new deck.SolidPolygonLayer(Object.assign({
        id: spec.id + "#fill",
        data: shapes(layer, "polygons"),
        _normalize: false, extruded: false, pickable: true,
        getFillColor: spec.colour.slice(0, 3).concat([1]),
        autoHighlight: true, highlightColor: spec.colour.slice(0, 3).concat([45]),
        highlightedObjectIndex: ctx.selected,
        parameters: {depthWriteEnabled: false},
      }, offsets(layer.meta))));
    }
    base.push(new deck.PathLayer(Object.assign({
      id: spec.id,
      data: shapes(layer, "paths"),
      _pathType: "open", getColor: spec.colour, getWidth: spec.style.width || 1.5, widthUnits: "pixels",
      pickable: false,
    }, offsets(layer.meta))));
    if (spec.style.labels && layer.columns.label_text) {
      const c = layer.columns;
      if (layer.labelsVersion !== layer.version) { // the text comes with the values: a renamed unit relabels
        layer.labels = Array.from({length: c.label_x.length}, function (_, i) {
          return {text: wire().value(c.label_text, i), position: [c.label_x[i], c.label_y[i]]};
        });
        layer.labelsVersion = layer.version;
      }
      overlay.push(new deck.TextLayer(Object.assign({
        id: spec.id + "#labels",
        data: layer.labels,
        getPosition: function (d) { return d.position; },
        getText: function (d) { return d.text; },
        characterSet: "auto",
        fontFamily: getComputedStyle(document.body).fontFamily,
        getSize: spec.style.labelSize || 18, getColor: [255, 255, 255, 240], fontWeight: "bold",
        background: true, getBackgroundColor: [11, 22, 34, 190], backgroundPadding: [6, 3],
        billboard: true, parameters: {depthCompare: "always"},
      }, offsets(layer.meta))));
    }
    return {base: base, overlay: overlay};
  }

  // A feature's colour (RGBA) by the chosen colouring, or the spec's one colour: for layers of few features.
  function featureColour(spec, layer, colouring) {
    const index = colouring ? layer.columns["colour." + colouring] : null;
    if (!index) return {accessor: spec.colour, trigger: "fixed"};
    const palette = layer.meta.palettes[colouring];
    return {accessor: function (_, info) { return palette[index[featureOf(layer, info.index)]]; },
            trigger: colouring + "@" + layer.version};
  }

  function lines(spec, layer, ctx) {
    const colour = featureColour(spec, layer, ctx.colouring);
    return {base: [new deck.PathLayer(Object.assign({
      id: spec.id,
      data: shapes(layer, "paths"),
      _pathType: "open", getColor: colour.accessor, getWidth: spec.style.width || 2, widthUnits: "pixels",
      widthMinPixels: 1, pickable: ctx.pickable || Boolean(spec.tooltip), autoHighlight: true,
      highlightColor: [255, 255, 255, 200], highlightedObjectIndex: ctx.selected,
      updateTriggers: {getColor: colour.trigger},
    }, offsets(layer.meta)))], overlay: []};
  }

  function points(spec, layer, ctx) {
    const colour = featureColour(spec, layer, ctx.colouring);
    layer.shapes = layer.shapes || {};
    if (!layer.shapes.points) {
      const n = layer.columns.starts.length - 1;
      layer.shapes.points = {length: n, attributes: {getPosition: {value: layer.positions, size: 2}}};
    }
    return {base: [], overlay: [new deck.ScatterplotLayer(Object.assign({
      id: spec.id,
      data: layer.shapes.points,
      getFillColor: colour.accessor, getRadius: spec.style.radius || 4, radiusUnits: "pixels",
      stroked: true, getLineColor: [11, 22, 34, 220], lineWidthUnits: "pixels", getLineWidth: 1,
      pickable: ctx.pickable || Boolean(spec.tooltip), autoHighlight: true, highlightColor: [255, 255, 255, 255],
      highlightedObjectIndex: ctx.selected, parameters: {depthCompare: "always"},
      updateTriggers: {getFillColor: colour.trigger},
    }, offsets(layer.meta)))]};
  }

  const RENDERERS = {extruded: extruded, areas: areas, outlines: outlines, lines: lines, points: points};

  // "{name}", "{name:,}" (thousands), "{name:.1f}" (decimals), "{name:h3}" (an H3 cell in hex).
  function format(template, layer, feature) {
    return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, function (_, name, how) {
      const v = wire().value(layer.columns[name], feature);
      if (v === null || v === undefined) return "–";
      if (how === ",") return Number(v).toLocaleString("en-US");
      if (how === "h3") return BigInt(v).toString(16);
      const fixed = how && /^\.(\d+)f$/.exec(how);
      if (fixed) return Number(v).toFixed(Number(fixed[1]));
      return String(v);
    });
  }

  window.twinRenderers = {renderers: RENDERERS, featureOf: featureOf, ringOf: ringOf, format: format};
  if (window.twinMapStart) window.twinMapStart(); // city_map.js may be waiting for this script
})();
