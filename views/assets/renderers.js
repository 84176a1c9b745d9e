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

  // --- IFC models: each model's GLB, one mesh whose vertices carry their element's number --------------------

  // A GLB (binary glTF 2.0) as the parts of one building: per element its triangles (x east, y north, z up,
  // metres around the model's anchor), colour and what names it (our GLBs keep these in each node's extras).
  function parseGlb(buffer) {
    const view = new DataView(buffer);
    if (buffer.byteLength < 20 || view.getUint32(0, true) !== 0x46546C67) throw new Error("not a GLB file");
    let offset = 12, json = null, bin = -1;
    while (offset + 8 <= buffer.byteLength) {
      const length = view.getUint32(offset, true), type = view.getUint32(offset + 4, true);
      if (type === 0x4E4F534A) json = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, offset + 8, length)));
      else if (type === 0x004E4942) bin = offset + 8;
      offset += 8 + length;
    }
    if (!json || bin < 0) throw new Error("the GLB has no JSON or no binary chunk");
    const read = function (index, size) {
      const a = json.accessors[index], bv = json.bufferViews[a.bufferView];
      const at = bin + (bv.byteOffset || 0) + (a.byteOffset || 0), n = a.count * size;
      if (a.componentType === 5126) return new Float32Array(buffer, at, n);
      if (a.componentType === 5125) return new Uint32Array(buffer, at, n);
      if (a.componentType === 5123) return new Uint16Array(buffer, at, n);
      return new Uint8Array(buffer, at, n);
    };
    const colours = (json.materials || []).map(function (m) {
      const f = (m.pbrMetallicRoughness && m.pbrMetallicRoughness.baseColorFactor) || [0.8, 0.8, 0.8, 1];
      return f;
    });
    const parts = [], storeys = [];
    (json.nodes || []).forEach(function (node, n) {
      if (node.mesh === undefined) return;
      const x = node.extras || {};
      for (const p of json.meshes[node.mesh].primitives) {
        if (p.attributes.POSITION === undefined || p.indices === undefined) continue;
        const gltf = read(p.attributes.POSITION, 3);
        const positions = new Float32Array(gltf.length);
        for (let v = 0; v < gltf.length; v += 3) { // glTF's y up, z south -> east, north, up
          positions[v] = gltf[v]; positions[v + 1] = -gltf[v + 2]; positions[v + 2] = gltf[v + 1];
        }
        const storey = x.storey || null;
        if (storey && storeys.indexOf(storey) < 0) storeys.push(storey);
        parts.push({index: x.index === undefined ? n : x.index, cls: x["class"] || "", name: x.name || null,
                    storey: storey, globalId: x.GlobalId || node.name || "", positions: positions,
                    indices: read(p.indices, 1), colour: colours[p.material] || [0.8, 0.8, 0.8, 1]});
      }
    });
    return {parts: parts, storeys: storeys, byIndex: new Map(parts.map(function (p) { return [p.index, p]; }))};
  }

  // One mesh of the parts a filter keeps, each element's number in texCoords.x, so the layer below picks
  // element by element. Glass is drawn opaque in its own colour: a second, see-through layer per model had
  // deck.gl's picking name the wrong layer (measured: a window of a model 600 m behind the one clicked).
  function mergeParts(kept) {
    let vertices = 0, indices = 0;
    for (const p of kept) { vertices += p.positions.length / 3; indices += p.indices.length; }
    if (!indices) return null;
    const positions = new Float32Array(vertices * 3), colors = new Float32Array(vertices * 3);
    const texCoords = new Float32Array(vertices * 2), index = new Uint32Array(indices);
    let v = 0, i = 0;
    for (const p of kept) {
      const n = p.positions.length / 3;
      positions.set(p.positions, v * 3);
      for (let k = 0; k < n; k++) {
        colors[3 * (v + k)] = p.colour[0]; colors[3 * (v + k) + 1] = p.colour[1]; colors[3 * (v + k) + 2] = p.colour[2];
        texCoords[2 * (v + k)] = p.index;
      }
      for (let k = 0; k < p.indices.length; k++) index[i + k] = p.indices[k] + v;
      v += n; i += p.indices.length;
    }
    return {attributes: {positions: {value: positions, size: 3}, colors: {value: colors, size: 3},
                         texCoords: {value: texCoords, size: 2}}, indices: index};
  }

  let ElementMeshLayer = null;
  function elementMeshLayer() {
    if (!ElementMeshLayer) {
      // a SimpleMeshLayer whose picking colour is the vertex's element number, not the instance's
      ElementMeshLayer = class extends deck.SimpleMeshLayer {
        getShaders() {
          const shaders = super.getShaders();
          shaders.inject = Object.assign({}, shaders.inject, {
            "vs:#main-end": "picking_setPickingColor(picking_getPickingColorFromIndex(texCoords.x));",
          });
          return shaders;
        }
      };
      ElementMeshLayer.layerName = "ElementMeshLayer";
    }
    return ElementMeshLayer;
  }

  const glbs = {}; // url -> {status, model, error}: a GLB is fetched once per page, its URL names its content

  function glb(url) {
    if (!glbs[url]) {
      const entry = glbs[url] = {status: "loading", model: null, meshes: {}};
      fetch(url).then(function (r) {
        if (!r.ok) throw new Error("the model answered " + r.status);
        return r.arrayBuffer();
      }).then(function (buffer) {
        entry.model = parseGlb(buffer);
        entry.bytes = buffer.byteLength;
        entry.status = "ready";
      }).catch(function (err) {
        entry.status = "failed";
        entry.error = err.message;
      }).finally(function () {
        if (window.twinMap && window.twinMap.render) window.twinMap.render();
      });
    }
    return glbs[url];
  }

  // The meshes of a model for what is shown: every storey, or one; spaces (rooms) only when asked for.
  function meshesOf(entry, storey, spaces) {
    const key = (storey || "*") + "|" + (spaces ? "spaces" : "");
    if (!entry.meshes[key]) {
      const parts = entry.model.parts.filter(function (p) {
        return (spaces || p.cls !== "IfcSpace") && (!storey || p.storey === storey);
      });
      entry.meshes[key] = {mesh: mergeParts(parts), parts: parts.length};
    }
    return entry.meshes[key];
  }

  function models(spec, layer, ctx) {
    const list = layer.meta.models || [];
    const base = [], waiting = [];
    const Layer = elementMeshLayer();
    const sel = ctx.selection;
    list.forEach(function (m, i) {
      const entry = glb(m.glb);
      if (entry.status !== "ready") { waiting.push(i); return; }
      const chosen = sel && sel.feature === i;
      const storey = (ctx.storeys || {})[m.id] || null;
      const meshes = meshesOf(entry, storey, Boolean((ctx.spaces || {})[m.id]));
      const common = {
        data: [{position: [0, 0, 0]}], getPosition: function (d) { return d.position; },
        getColor: [255, 255, 255, 255], coordinateSystem: deck.COORDINATE_SYSTEM.METER_OFFSETS,
        coordinateOrigin: [m.lon, m.lat, 0], pickable: true, autoHighlight: true,
        highlightColor: spec.style.highlight || [255, 200, 40, 255],
        highlightedObjectIndex: chosen && sel.element >= 0 ? sel.element : -1,
        getPolygonOffset: null, modelIndex: i, modelId: m.id,
        material: {ambient: 0.5, diffuse: 0.6, shininess: 16, specularColor: [40, 40, 40]},
      };
      if (meshes.mesh) base.push(new Layer(Object.assign({id: spec.id + "#" + i, mesh: meshes.mesh}, common)));
    });
    if (waiting.length && layer.columns.starts) {
      // until its GLB has come (or if it cannot be drawn), a model stands as its footprint raised to its height
      const starts = layer.columns.starts, wait = new Set(waiting), rings = [];
      for (let r = 0; r + 1 < starts.length; r++) {
        const f = featureOf(layer, r);
        if (wait.has(f)) rings.push({feature: f, polygon: layer.positions.subarray(2 * starts[r], 2 * starts[r + 1])});
      }
      const height = layer.columns[spec.bindings.elevation];
      base.push(new deck.SolidPolygonLayer(Object.assign({
        id: spec.id + "#waiting", data: rings, extruded: true, pickable: true, autoHighlight: true,
        getPolygon: function (d) { return d.polygon; }, positionFormat: "XY",
        getElevation: function (d) { return height ? height[d.feature] : 10; },
        getFillColor: spec.colour.slice(0, 3).concat([120]), waitingFeatures: rings.map(function (d) { return d.feature; }),
      }, offsets(layer.meta))));
    }
    return {base: base, overlay: []};
  }

  // What a pick names: the feature (for a model, which model) and, on a model, the element under the pointer.
  function hitOf(layer, info) {
    const props = info.layer.props;
    if (props.modelIndex !== undefined) return {feature: props.modelIndex, element: info.index};
    if (props.waitingFeatures) return {feature: props.waitingFeatures[info.index], element: -1};
    return {feature: featureOf(layer, info.index), element: -1};
  }

  // The element a pick names, as its GLB tells it (class, name, storey, GlobalId), if the GLB is here.
  function elementOf(layer, feature, element) {
    const m = (layer.meta.models || [])[feature];
    const entry = m && glbs[m.glb];
    return entry && entry.model ? entry.model.byIndex.get(element) || null : null;
  }

  function modelOf(layer, feature) {
    const m = (layer.meta.models || [])[feature];
    const entry = m && glbs[m.glb];
    return m ? {meta: m, status: entry ? entry.status : "loading", error: entry && entry.error,
                storeys: entry && entry.model ? entry.model.storeys : m.storeys} : null;
  }

  const RENDERERS = {extruded: extruded, areas: areas, outlines: outlines, lines: lines, points: points,
                     models: models};

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

  window.twinRenderers = {renderers: RENDERERS, featureOf: featureOf, ringOf: ringOf, format: format, hitOf: hitOf,
                          elementOf: elementOf, modelOf: modelOf, parseGlb: parseGlb};
  if (window.twinMapStart) window.twinMapStart(); // city_map.js may be waiting for this script
})();
