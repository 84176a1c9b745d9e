"""``twin cim ingest`` as a user runs it: what it prints (text and ``--json``), and what a refused file leaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cim.ingest import IngestRequest
from twin.city_ingest import IngestFailed, ingest_file
from twin.city_store import CityStore
from twin.cli import main

TWIN = Path(sys.executable).parent / "twin"
DATAV = "wuhan_420100_datav_districts_array.json"
TRUNCATED = ("error: broken.geojson is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
             "column 2; the file looks cut short (truncated); nothing was written")


def _twin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TWIN), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    return path


def test_a_refused_ingest_into_a_new_folder_creates_no_folder(tmp_path, broken):
    new = tmp_path / "new"
    run = _twin("cim", "ingest", "boundaries", str(broken), "--store", str(new))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [TRUNCATED]
    assert run.stdout == ""
    assert not new.exists()


def test_a_refused_ingest_into_new_nested_folders_creates_none_of_them(tmp_path, broken):
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(tmp_path / "a" / "b")])
    assert (run.exit_code, run.stderr.splitlines()) == (2, [TRUNCATED])
    assert not (tmp_path / "a").exists()


def test_a_refused_ingest_into_an_empty_folder_leaves_it_empty(tmp_path, broken):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(empty)])
    assert (run.exit_code, run.stderr.splitlines()) == (2, [TRUNCATED])
    assert list(empty.iterdir()) == []


def test_an_ingest_onto_a_file_is_refused_before_the_file_is_read(tmp_path, broken):
    target = tmp_path / "city.txt"
    target.write_text("keep me")
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(target)])
    assert (run.exit_code, run.stderr.splitlines()) == (
        2, [f"error: {target} is a file, not a city folder; choose a folder with --store; nothing was written"])
    assert target.read_text() == "keep me"


def test_a_good_file_into_a_new_folder_makes_the_store(tmp_path, shared_data):
    new = tmp_path / "new" / "city"
    run = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(shared_data / "geo" / DATAV), "--crs", "gcj02",
                                    "--store", str(new)])
    assert run.exit_code == 0, run.output
    assert run.stdout == f"ingested 13 districts from {DATAV} (CRS gcj02)\n"
    store = CityStore.open(new)
    assert len(store.read("districts")) == 13
    assert [(s.file, s.crs_in, s.rows) for s in store.require("districts").sources] == [
        (str(shared_data / "geo" / DATAV), "gcj02", 13)]


def test_a_write_that_fails_in_a_new_folder_takes_the_new_store_back(tmp_path, shared_data, monkeypatch):
    from twin.city_store import StoreBatch
    from twin.manifest import StoreError

    def failing(self, kind, *args, **kwargs):
        raise StoreError("the disk is full")

    monkeypatch.setattr(StoreBatch, "write", failing)
    new = tmp_path / "new" / "city"
    with pytest.raises(IngestFailed, match=rf"^{shared_data / 'geo' / DATAV}: the disk is full; nothing was written$"):
        ingest_file(CityStore(new), IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    assert not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestFailed, match="the disk is full"):
        ingest_file(CityStore(empty), IngestRequest(kind="boundaries", crs="gcj02", path=shared_data / "geo" / DATAV))
    assert list(empty.iterdir()) == []

