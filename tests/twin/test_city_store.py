from __future__ import annotations

import json
import threading
from datetime import timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from twin import city_store as store_module
from twin.city_store import CityStore, StoreBatch, shape_hash
from twin.manifest import FORMAT, Source, StoreError, now


def _water(names: list[str]) -> gpd.GeoDataFrame:
    polys = [shapely.box(114.2 + i * 0.01, 30.5, 114.205 + i * 0.01, 30.505) for i in range(len(names))]
    return gpd.GeoDataFrame({"name": names, "name_en": [None] * len(names), "kind": ["lake"] * len(names)},
                            geometry=polys, crs=4326)


def _source(rows: int, file: str = "lakes.geojson") -> list[Source]:
    return [Source(file=file, kind="water", rows=rows, time=now(), crs_in="EPSG:4326")]


@pytest.fixture
def empty(tmp_path) -> CityStore:
    return CityStore.open(tmp_path / "store", create=True)


def test_a_new_store_has_a_manifest_of_the_current_format_and_no_tables(empty):
    manifest = json.loads((empty.folder / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    assert manifest["tables"] == {} and manifest["generation"] == 0


def test_a_written_table_reads_back_the_same_with_its_entry(empty):
    lakes = _water(["东湖", "南湖"])
    entry = empty.write("water", lakes, sources=_source(2), writer="test")
    assert entry.rows == 2 and entry.classification == "public" and entry.schema_version == 1
    assert entry.sources[0].crs_in == "EPSG:4326"
    assert entry.bbox == pytest.approx((114.2, 30.5, 114.215, 30.505))
    back = empty.read("water")
    assert back["name"].tolist() == ["东湖", "南湖"]
    assert shapely.equals(back.geometry.to_numpy(), lakes.geometry.to_numpy()).all()
    assert empty.generation == 1


def test_replacing_keeps_the_old_file_for_readers_then_removes_it(empty, monkeypatch):
    first = empty.write("water", _water(["东湖"]), sources=_source(1), writer="test")
    second = empty.write("water", _water(["南湖"]), sources=_source(1), writer="test")
    assert first.file != second.file
    assert (empty.folder / first.file).exists(), "a reader of the old manifest can still open the old file"
    assert empty.manifest().retired.keys() == {first.file}
    monkeypatch.setattr(store_module, "GRACE", timedelta(0))
    empty.write("water", _water(["沙湖"]), sources=_source(1), writer="test")
    assert not (empty.folder / first.file).exists()


def test_appending_adds_rows_and_keeps_every_source(empty):
    empty.write("water", _water(["东湖"]), sources=_source(1, "a.geojson"), writer="test")
    entry = empty.write("water", _water(["南湖"]), sources=_source(1, "b.geojson"), writer="test", mode="append")
    assert entry.rows == 2
    assert [s.file for s in entry.sources] == ["a.geojson", "b.geojson"]
    assert empty.read("water")["name"].tolist() == ["东湖", "南湖"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["kind"]), r"needs the columns \['kind'\], which are missing"),
        (lambda f: f.assign(kind=["sea"]),
         r"column 'kind' holds \['sea'\], not a water kind; use one of: river, lake"),
        (lambda f: f.set_crs(3857, allow_override=True),
         r"the geometry is in EPSG:3857; .*reproject with .to_crs\(4326\)"),
        (lambda f: f.set_geometry([shapely.Point(114.3, 30.5)]),
         r"row 0 is a Point; a water table holds Polygon or MultiPolygon"),
        (lambda f: f.set_geometry([shapely.Polygon()]), r"row 0 has no geometry"),
        (lambda f: f.assign(name=[None]), r"column 'name' is empty in every row"),
    ],
)
def test_a_table_that_does_not_match_its_kind_is_refused_and_nothing_is_written(empty, change, message):
    empty.write("water", _water(["东湖"]), sources=_source(1), writer="test")
    before = empty.manifest()
    files = sorted(empty.folder.rglob("*"))
    with pytest.raises(StoreError, match=message + ".*nothing was written"):
        empty.write("water", change(_water(["南湖"])), sources=_source(1), writer="test")
    assert empty.manifest() == before
    assert sorted(empty.folder.rglob("*")) == files


def test_a_batch_goes_live_together_or_not_at_all(empty):
    with pytest.raises(RuntimeError, match="interrupted"), empty.batch("test") as batch:
        batch.write("water", _water(["东湖"]), sources=_source(1))
        raise RuntimeError("interrupted")
    assert empty.manifest().tables == {}
    assert not list((empty.folder / "tables").rglob("*.parquet"))


def test_readers_see_the_old_table_or_the_new_one_never_half(tmp_path):
    store = CityStore.open(tmp_path / "s", create=True)
    tables = {n: _water([f"湖{i}" for i in range(n)]) for n in (3, 7)}
    store.write("water", tables[3], sources=_source(3), writer="test")
    seen: list[int] = []
    wrong: list[object] = []
    stop = threading.Event()

    def read() -> None:
        reader = CityStore(store.folder)
        while not stop.is_set():
            try:
                frame = reader.read("water")
            except Exception as exc:  # reported below: an assertion in a thread would not fail the test
                wrong.append(exc)
                return
            if frame["name"].tolist() != [f"湖{i}" for i in range(len(frame))]:
                wrong.append(frame["name"].tolist())
            seen.append(len(frame))

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(20):
        n = 7 if i % 2 == 0 else 3
        store.write("water", tables[n], sources=_source(n), writer="test")
    stop.set()
    thread.join()
    assert wrong == []
    assert set(seen) <= {3, 7} and len(seen) > 0


def test_two_writers_at_once_both_land(tmp_path):
    store = CityStore.open(tmp_path / "s", create=True)
    rows = pd.DataFrame({"resolution": pd.array([9], dtype="int8"), "cell": pd.array([0x8928308280FFFFF], "uint64"),
                         "residents": [5]})
    errors = []

    def write(kind_frame):
        try:
            CityStore(store.folder).write(*kind_frame, sources=[], writer="test")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(("water", _water(["东湖"])),)),
               threading.Thread(target=write, args=(("population_h3", rows),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(store.manifest().tables) == ["population_h3", "water"]
    assert store.generation == 2


def test_the_shape_hash_follows_the_shapes_not_the_values():
    a = _water(["东湖", "南湖"])
    b = a.assign(name=["沙湖", "月湖"])
    c = a.set_geometry(a.geometry.translate(0.001))
    assert shape_hash(a, ["geometry"]) == shape_hash(b, ["geometry"])
    assert shape_hash(a, ["geometry"]) != shape_hash(c, ["geometry"])


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("{not json", r"is not valid JSON .*twin demo build --force --store"),
        ("[1, 2]", r"holds a list, not a manifest"),
        ('{"format": "city-twin/demo-city/1"}', r"older format 'city-twin/demo-city/1'.* twin store upgrade --store"),
        ('{"format": "city-twin/store/9"}', r"written in format 'city-twin/store/9' by another version"),
        ('{"format": "geojson"}', r"names format 'geojson', not a city store's"),
        ('{"format": "city-twin/store/2", "generation": -1}', r"is damaged at generation"),
    ],
)
def test_a_bad_manifest_gets_the_advice_that_fits_it(tmp_path, text, advice):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(StoreError, match=advice):
        CityStore.open(tmp_path)


def test_opening_where_there_is_no_city_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match=f"no city at {tmp_path / 'x'}; build the demo city with: twin demo build"):
        CityStore.open(tmp_path / "x")


def test_a_table_file_that_went_missing_is_named(empty):
    entry = empty.write("water", _water(["东湖"]), sources=_source(1), writer="test")
    (empty.folder / entry.file).unlink()
    with pytest.raises(StoreError, match=f"should be in {entry.file}, which is missing"):
        empty.read("water")


def test_asking_for_a_table_the_store_lacks_says_how_to_get_it(empty):
    with pytest.raises(StoreError, match=r"has no buildings table; build the demo city .* or write one"):
        empty.read("buildings")


def test_two_appends_at_once_both_land_or_one_is_refused_never_lost(empty):
    from twin.city_store import StoreConflict

    empty.write("water", _water(["东湖"]), sources=_source(1), writer="test")
    first = StoreBatch(empty, "a")
    first.write("water", _water(["南湖"]), sources=_source(1, "a"), mode="append")
    empty.write("water", _water(["沙湖"]), sources=_source(1, "b"), writer="b", mode="append")
    with pytest.raises(StoreConflict, match="the water table changed while this write was being prepared"):
        first.commit()
    first.discard()
    assert empty.read("water")["name"].tolist() == ["东湖", "沙湖"]


def test_a_file_written_again_lately_outlives_its_retirement(empty, monkeypatch):
    lakes = _water(["东湖"])
    first = empty.write("water", lakes, sources=_source(1), writer="test")
    empty.write("water", _water(["南湖"]), sources=_source(1), writer="test")
    monkeypatch.setattr(store_module, "GRACE", timedelta(seconds=60))
    pending = StoreBatch(empty, "slow writer")
    again = pending.write("water", lakes, sources=_source(1))  # the same content: the same file name
    assert again.file == first.file
    manifest = empty.manifest()
    old = dict(manifest.retired)
    old[first.file] = old[first.file] - timedelta(hours=1)  # retired long ago
    empty._replace_manifest(manifest.model_copy(update={"retired": old}))
    empty.write("population_h3", _cells(), sources=[], writer="another writer")  # collects retired files
    assert (empty.folder / first.file).exists(), "a file a batch has just written is not collected"
    pending.commit()
    assert empty.read("water")["name"].tolist() == ["东湖"]


def _cells() -> pd.DataFrame:
    return pd.DataFrame({"resolution": pd.array([9], dtype="int8"), "cell": pd.array([0x8928308280FFFFF], "uint64"),
                         "residents": [5]})


def test_a_batch_that_fails_to_commit_leaves_no_file(empty, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise StoreError("another writer has held the lock for a minute")

    monkeypatch.setattr(CityStore, "_commit", refuse)
    with pytest.raises(StoreError, match="held the lock"):
        empty.write("water", _water(["东湖"]), sources=_source(1), writer="test")
    assert not list((empty.folder / "tables").rglob("*.parquet"))
