/* Decoding layer messages (layers/wire.py): b"TWB2" | uint32 header length | JSON header | 8-byte aligned
 * buffers. Every buffer is wrapped in a typed array without copying. A number column is a typed array
 * (64-bit integers as BigInt64Array / BigUint64Array); a text column is {codes, strings}; either may carry
 * `valid`, a bitmap of which rows are not null.
 */
(function () {
  "use strict";

  const NUMBERS = {
    float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
    uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
    bool: Uint8Array, timestamp: BigInt64Array,
  };
  const utf8 = new TextDecoder();

  function decode(buffer) {
    const view = new DataView(buffer);
    const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
    if (magic !== "TWB2") throw new Error("not a layer message (it starts with " + magic + ")");
    const size = view.getUint32(4, true);
    const header = JSON.parse(utf8.decode(new Uint8Array(buffer, 8, size)));
    const body = 8 + size;
    const columns = {};
    for (const [name, spec] of Object.entries(header.columns)) {
      let column;
      if (spec.type === "dictionary") {
        const d = spec.dictionary;
        const offsets = new Uint32Array(buffer, body + d.offsets, d.count + 1);
        const bytes = new Uint8Array(buffer, body + d.data, d.bytes);
        const strings = new Array(d.count);
        for (let i = 0; i < d.count; i++) strings[i] = utf8.decode(bytes.subarray(offsets[i], offsets[i + 1]));
        column = {kind: "dictionary", codes: new NUMBERS[spec.index](buffer, body + spec.offset, spec.length), strings: strings};
      } else {
        column = new NUMBERS[spec.type](buffer, body + spec.offset, spec.length);
        column.kind = spec.type;
      }
      if (spec.validity !== undefined) column.valid = new Uint8Array(buffer, body + spec.validity, Math.ceil(spec.length / 8));
      columns[name] = column;
    }
    return {meta: header.meta, columns: columns};
  }

  // The value of row i of a column: null for a null, text for a text column, a Date for a timestamp.
  function value(column, i) {
    if (!column) return undefined;
    if (column.valid && !((column.valid[i >> 3] >> (i & 7)) & 1)) return null;
    if (column.kind === "dictionary") return column.strings[column.codes[i]];
    if (column.kind === "timestamp") return new Date(Number(column[i]));
    if (column.kind === "bool") return column[i] === 1;
    return column[i];
  }

  // Positions come as int32 steps of 1e-7 degree from the previous vertex of the ring (the first from the
  // layer's origin): add them up into float32 degree offsets from the origin (layers/geometry.py).
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

  window.twinWire = {decode: decode, value: value, sumSteps: sumSteps};
  if (window.twinMapStart) window.twinMapStart(); // city_map.js may be waiting for this script
})();
