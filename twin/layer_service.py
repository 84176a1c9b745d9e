"""The map's layers over a city store: their versions, their messages (built once, cached), and the
details of a picked feature.

A layer's ``version`` is a hash of its spec's version, its variant and the content hash of every
table it reads; its ``geometryVersion`` a hash of the same with the tables' shape hashes. Both come
from the manifest alone, so listing the layers costs nothing, and a message is built only when a
browser asks for a version it has not got. Messages are kept (plain and gzipped) in a bounded cache;
each is built once even when many requests ask at once, and different layers build in parallel. When
the store moves on, the versions it no longer holds are forgotten.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cim.tables import Classification, SchemaError
from cim.vocabulary import UnknownTermError
from layers.cells import CellError
from layers.geometry import GeometryError
from layers.messages import FULL, VALUES, message
from layers.rollup import RollUpError
from layers.spec import Details, LayerData, LayerRegistry, LayerSpec, SpecError, Variant
from layers.wire import WireError
from twin.city_store import CityStore
from twin.errors import NotFound, TwinError
from twin.manifest import Manifest

#: What a layer's build can raise when the tables in the store do not make the layer.
DATA_ERRORS = (SpecError, CellError, GeometryError, WireError, SchemaError, RollUpError, UnknownTermError)


def _code_version() -> str:
    """A hash of the code that turns tables into layers: a new release changes every layer's version, so no
    browser keeps a message the new code would make differently."""
    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "layers").glob("*.py")), root / "cim" / "vocabulary.py"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


CODE_VERSION = _code_version()


class LayerError(TwinError):
    """A request for a layer, variant, feature or version that cannot be answered."""


class Conflict(LayerError):
    status = 409


@dataclass(frozen=True)
class Built:
    """One message, ready to send: its version (the ETag), plain and gzipped bytes."""

    version: str
    plain: bytes
    packed: bytes


class _Cache:
    """A bounded LRU whose values are made once per key, with one lock per key being made."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._making: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            lock = self._making.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                value = make()
            finally:
                with self._lock:
                    self._making.pop(key, None)
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return value

    def keep(self, wanted: Callable[[Hashable], bool]) -> None:
        """Forget the entries ``wanted`` says no to (versions no longer in the store)."""
        with self._lock:
            for key in [k for k in self._items if not wanted(k)]:
                del self._items[key]


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


class LayerService:
    def __init__(self, store: CityStore, registry: LayerRegistry, *, messages: int = 48, tables: int = 16) -> None:
        self.store = store
        self.registry = registry
        self._messages = _Cache(messages)
        self._data = _Cache(messages)
        self._tables = _Cache(tables)
        self._generation: int | None = None

    def sharing_tables(self, registry: LayerRegistry) -> LayerService:
        """Another service over ``registry`` that reads the store's tables through this one's cache."""
        other = LayerService(self.store, registry, messages=self._messages.size, tables=self._tables.size)
        other._tables = self._tables
        return other

    # --- versions ------------------------------------------------------------------------------------------

    def _spec(self, layer_id: str) -> LayerSpec:
        try:
            return self.registry.get(layer_id)
        except SpecError as exc:
            raise NotFound(str(exc)) from None

    def _variant(self, spec: LayerSpec, variant_id: str | None) -> Variant | None:
        try:
            return spec.variant(variant_id)
        except SpecError as exc:
            raise NotFound(str(exc)) from None

    def available(self, spec: LayerSpec, manifest: Manifest | None = None) -> bool:
        manifest = manifest or self.store.manifest()
        return all(t in manifest.tables for t in spec.tables)

    def versions(self, spec: LayerSpec, variant: Variant | None, manifest: Manifest | None = None) -> tuple[str, str]:
        """(version, geometry version) of a layer now; a :class:`LayerError` if a table is missing."""
        manifest = manifest or self.store.manifest()
        entries = []
        for kind in spec.tables:
            entry = manifest.tables.get(kind)
            if entry is None:
                raise NotFound(
                    f"layer {spec.id!r} needs the {kind} table, which the city at {self.store.folder} does not have "
                    f"yet; build the demo city or write the table"
                )
            entries.append(entry)
        optional = [manifest.tables.get(kind) for kind in spec.optional_tables]
        marks = [(e.content_hash if e else f"{kind}:absent") for kind, e in zip(spec.optional_tables, optional,
                                                                                  strict=True)]
        shape_marks = [(e.shape_hash or e.content_hash if e else f"{kind}:absent")
                       for kind, e in zip(spec.optional_tables, optional, strict=True)]
        vid = variant.id if variant else ""
        # the class is part of the version: a redacted layer is never taken for the whole one by a cache
        version = _digest(CODE_VERSION, spec.id, spec.version, spec.classification, vid,
                          *(e.content_hash for e in entries), *marks)
        geometry = _digest(CODE_VERSION, spec.id, spec.version, vid, "shapes",
                           *(e.shape_hash or e.content_hash for e in entries), *shape_marks)
        return version, geometry

    def _prune(self, manifest: Manifest) -> None:
        """When the store moves on, forget the tables, data and messages of versions it no longer holds."""
        if manifest.generation == self._generation:
            return
        self._generation = manifest.generation
        hashes = {(k, e.content_hash) for k, e in manifest.tables.items()}
        self._tables.keep(lambda key: key in hashes)
        current = set()
        for spec in self.registry:
            if self.available(spec, manifest):
                for variant in spec.variants or (None,):
                    current.add((spec.id, self.versions(spec, variant, manifest)[0]))
        self._data.keep(lambda key: key in current)
        self._messages.keep(lambda key: key[:2] in current)

    def listing(self) -> dict[str, Any]:
        """Every layer, as the browser and the layers screen see it, with its versions now."""
        manifest = self.store.manifest()
        layers = []
        for spec in self.registry:
            entry = spec.to_json()
            available = self.available(spec, manifest)
            entry["available"] = available
            entry["tables"] = list(spec.tables)
            versions = {}
            if available:
                for variant in spec.variants or (None,):
                    v, g = self.versions(spec, variant, manifest)
                    versions[variant.id if variant else ""] = {"version": v, "geometryVersion": g}
            entry["versions"] = versions
            layers.append(entry)
        return {"generation": manifest.generation, "layers": layers}

    # --- data and messages ---------------------------------------------------------------------------------

    def tables(self, kinds: tuple[str, ...], manifest: Manifest | None = None,
               optional: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
        """The tables as ``manifest`` names them (each read from its own version's file, kept by its hash);
        the ``optional`` ones only if the store has them."""
        manifest = manifest or self.store.manifest()
        out = {}
        for kind in (*kinds, *optional):
            entry = manifest.tables.get(kind)
            if entry is None and kind in optional and kind not in kinds:
                continue
            if entry is None:
                raise NotFound(f"the city at {self.store.folder} has no {kind} table")
            out[kind] = self._tables.get((kind, entry.content_hash),
                                         lambda kind=kind, entry=entry: self.store.read(kind, entry=entry))
        return out

    def data(
        self, layer_id: str, variant_id: str | None = None
    ) -> tuple[LayerSpec, Variant | None, LayerData, str, str]:
        """The layer's data now, with its spec, variant and versions."""
        spec, variant, data, version, geometry, _ = self._data_at(layer_id, variant_id)
        return spec, variant, data, version, geometry

    def _data_at(
        self, layer_id: str, variant_id: str | None
    ) -> tuple[LayerSpec, Variant | None, LayerData, str, str, Manifest]:
        spec = self._spec(layer_id)
        variant = self._variant(spec, variant_id)
        manifest = self.store.manifest()
        self._prune(manifest)
        version, geometry = self.versions(spec, variant, manifest)

        def make() -> LayerData:
            with self._data_errors(spec):
                return spec.build(self.tables(spec.tables, manifest, spec.optional_tables), variant)

        return spec, variant, self._data.get((spec.id, version), make), version, geometry, manifest

    @contextmanager
    def _data_errors(self, spec: LayerSpec) -> Iterator[None]:
        """The tables in the store do not make this layer: one line saying why, not a traceback."""
        try:
            yield
        except DATA_ERRORS as exc:
            raise LayerError(
                f"layer {spec.id!r} cannot be made from the tables in {self.store.folder}: {exc}", status=500
            ) from exc

    def message(self, layer_id: str, variant_id: str | None = None, part: str = FULL) -> Built:
        if part not in (FULL, VALUES):
            raise LayerError(f"a layer is sent whole ({FULL!r}) or as values ({VALUES!r}), not {part!r}")
        spec, variant, data, version, geometry = self.data(layer_id, variant_id)

        def make() -> Built:
            with self._data_errors(spec):
                plain = message(spec, data, part=part, variant=variant, version=version, geometry_version=geometry)
            return Built(version, plain, gzip.compress(plain, compresslevel=6))

        return self._messages.get((spec.id, version, part), make)

    def warm(self, layer_ids: list[str]) -> None:
        """Build the full messages of these layers (default variants) ahead of the first request."""
        manifest = self.store.manifest()
        for layer_id in layer_ids:
            spec = self._spec(layer_id)
            if self.available(spec, manifest):
                self.message(layer_id, spec.default_variant)

    # --- picking -------------------------------------------------------------------------------------------

    def details(self, layer_id: str, variant_id: str | None, index: int, version: str | None = None) -> Details:
        """The details of feature ``index`` of a layer; ``version`` guards against a layer that has changed."""
        spec, variant, data, current, _, manifest = self._data_at(layer_id, variant_id)
        if spec.pick is None:
            raise LayerError(f"layer {spec.id!r} has nothing to pick")
        if version is not None and version != current:
            raise Conflict(
                f"layer {spec.id!r} changed since the map drew it (version {version}, now {current}); "
                f"the map redraws within seconds, then click again"
            )
        if not (0 <= index < data.count):
            raise NotFound(f"layer {spec.id!r} has features 0 to {data.count - 1}, not {index}")
        tables = self.tables(spec.tables + spec.pick.tables, manifest, spec.optional_tables)
        with self._data_errors(spec):
            return spec.pick.details(tables, variant, index)

    def find(self, layer_id: str, variant_id: str | None, key: str) -> tuple[int, Details]:
        """The feature of a layer whose stable key (e.g. a building code) is ``key``."""
        spec, variant, _, _, _, manifest = self._data_at(layer_id, variant_id)
        if spec.pick is None:
            raise LayerError(f"layer {spec.id!r} has nothing to pick")
        tables = self.tables(spec.tables + spec.pick.tables, manifest, spec.optional_tables)
        with self._data_errors(spec):
            index = spec.pick.find(tables, variant, key)
            if index is None:
                raise NotFound(f"layer {spec.id!r} has no feature {key!r}")
            return index, spec.pick.details(tables, variant, index)


class ClearedLayers:
    """The map's layers as each clearance sees them (``registry.for_clearance``): one service per class,
    all reading the store's tables through one cache."""

    def __init__(self, store: CityStore, registry: LayerRegistry) -> None:
        self.whole = LayerService(store, registry)
        self._by_class = {c: self.whole.sharing_tables(registry.for_clearance(c)) for c in Classification}

    def __getitem__(self, clearance: Classification) -> LayerService:
        return self._by_class[Classification(clearance)]

    def items(self) -> list[tuple[Classification, LayerService]]:
        return list(self._by_class.items())
