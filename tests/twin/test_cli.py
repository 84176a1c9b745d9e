from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from twin.city_store import CityStore
from twin.cli import main

TWIN = Path(sys.executable).parent / "twin"


def _twin(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(TWIN), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], "demo"), (["demo"], "build"), (["demo", "build"], "--scale [small|city]"), (["serve"], "--port"),
     (["worker"], "--threads"), (["store"], "upgrade"), (["store", "put"], "KIND FILE"), (["jobs"], "list")],
)
def test_every_command_has_help(args, expected):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0
    assert expected in result.output


def test_demo_build_writes_a_city_and_reports_it(tmp_path):
    result = CliRunner().invoke(main, ["demo", "build", "--seed", "5", "--store", str(tmp_path / "c"),
                                       "--buildings", "200"])
    assert result.exit_code == 0, result.output
    assert "built 200 buildings" in result.output
    assert CityStore.open(tmp_path / "c").require("buildings").rows == 200


def test_make_demo_twice_keeps_a_table_written_in_between(tmp_path):
    """What `make demo` runs, twice, with a table written into the store between the two."""
    from twin.jobs import JobStore
    from twin.live_store import LiveStore

    store = tmp_path / "demo"
    assert _twin("demo", "build", "--store", str(store), "--buildings", "300").returncode == 0
    live = LiveStore.open(None, store)
    job, _ = JobStore(live).create("derive", {}, title="a job of the live state")
    live.dispose()
    residents = tmp_path / "residents.parquet"
    CityStore.open(store).read("residents").iloc[:50].to_parquet(residents)
    put = _twin("store", "put", "residents", str(residents), "--store", str(store))
    assert put.returncode == 0, put.stderr
    assert put.stdout.startswith("wrote 50 rows of residents")
    written = CityStore.open(store).require("residents")
    again = _twin("demo", "build", "--store", str(store), "--buildings", "300")
    assert again.returncode == 0
    assert again.stdout.startswith(f"kept the city already in {store}")
    assert CityStore.open(store).require("residents") == written
    live = LiveStore.open(None, store)
    assert JobStore(live).get(job.id).title == "a job of the live state"  # the live state survives too
    live.dispose()


def test_serving_a_missing_city_prints_one_line_and_no_traceback(tmp_path):
    run = _twin("serve", "--store", str(tmp_path / "nowhere"), timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: no city at {tmp_path / 'nowhere'}; build the demo city with: twin demo build --store "
        f"{tmp_path / 'nowhere'}"
    ]


def test_building_onto_a_file_is_refused_in_one_line(tmp_path):
    target = tmp_path / "city.txt"
    target.write_text("keep me")
    run = _twin("demo", "build", "--buildings", "50", "--out", str(target), timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: {target} is a file, not a city folder; choose a folder with --store"
    )
    assert target.read_text() == "keep me"


def test_building_where_nothing_can_be_written_names_the_path(tmp_path):
    parent = tmp_path / "parent"
    parent.write_text("a file where a folder should be")
    run = _twin("demo", "build", "--buildings", "50", "--out", str(parent / "city"), timeout=120)
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(parent) in last and "Traceback" not in run.stderr


def test_a_bad_setting_in_the_environment_is_one_line_naming_the_variable(tmp_path):
    env = {**os.environ, "TWIN_PORT": "70000"}
    run = _twin("serve", "--store", str(tmp_path), env=env, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: TWIN_PORT='70000' is not valid: Input should be less than or equal to 65535; fix or unset TWIN_PORT"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--buildings", "3000000"], "error: cannot build the demo city: the city has room for"),
     (["--buildings", "1", "--seed", "11"], "error: cannot build the demo city: the demo city has no dwellings"),
     (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0")],
)
def test_impossible_cities_are_refused_in_one_line(tmp_path, args, message):
    run = _twin("demo", "build", "--out", str(tmp_path / "c"), *args)
    assert run.returncode == 2
    assert message in run.stderr.strip().splitlines()[-1]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "c").exists()


def test_a_port_already_taken_names_the_port(city_dir):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _twin("serve", "--store", str(city_dir), "--port", str(port), timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert run.stderr.strip().splitlines()[-1].endswith("choose another --port or TWIN_PORT")


def test_an_unknown_scale_is_refused_by_the_cli():
    result = CliRunner().invoke(main, ["demo", "build", "--scale", "huge"])
    assert result.exit_code == 2
    assert "'huge' is not one of 'small', 'city'" in result.output


def test_store_info_lists_the_tables_and_check_finds_them_whole(city_dir):
    info = _twin("store", "info", "--store", str(city_dir), "--json")
    assert info.returncode == 0
    assert json.loads(info.stdout)["tables"]["buildings"]["rows"] == 300
    check = _twin("store", "check", "--store", str(city_dir))
    assert check.returncode == 0 and check.stdout.strip() == "every table matches its kind and its hash"


def test_store_check_names_a_table_whose_file_changed(city_dir):
    store = CityStore.open(city_dir)
    path = store.path_of(store.require("water"))
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    check = _twin("store", "check", "--store", str(city_dir))
    assert check.returncode == 2
    lines = check.stderr.strip().splitlines()
    assert f"problem: water: {store.require('water').file} has changed since it was written" in lines[-2]
    assert lines[-1] == "error: 1 table(s) failed the check; see above"


@pytest.mark.parametrize(
    ("kind", "make", "message"),
    [
        ("population_h3", None, "population_h3 is derived from residents and rebuilt whenever they change; "
                                "write residents instead"),
        ("rivers", None, "no table kind 'rivers'; the kinds are: districts, streets"),
        ("water", lambda p: p.write_text("not parquet"), "cannot be read as a water table"),
        ("residents", lambda p: __import__("pandas").DataFrame({"age": [3]}).to_parquet(p),
         "a residents table needs the columns ['person_id', 'city_code'"),
    ],
)
def test_store_put_refuses_what_does_not_fit_in_one_line(city_dir, tmp_path, kind, make, message):
    file = tmp_path / "t.parquet"
    if make:
        make(file)
    else:
        file.write_bytes(b"")
    before = CityStore.open(city_dir).manifest()
    run = _twin("store", "put", kind, str(file), "--store", str(city_dir))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert message in run.stderr.strip().splitlines()[-1]
    assert CityStore.open(city_dir).manifest() == before


def test_jobs_list_shows_the_jobs(city_dir):
    run = _twin("jobs", "list", "--store", str(city_dir), "--json")
    assert run.returncode == 0 and json.loads(run.stdout) == []


def test_two_worker_processes_rebuild_the_population_once_when_the_residents_change(city_dir):
    import signal
    import time

    from twin.jobs import JobStore
    from twin.live_store import LiveStore
    from twin.manifest import Source, now

    workers = [subprocess.Popen([str(TWIN), "worker", "--store", str(city_dir), "--threads", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        store = CityStore.open(city_dir)
        residents = store.read("residents").iloc[:500]
        store.write("residents", residents, writer="test",
                    sources=[Source(file="r.parquet", kind="residents", rows=500, time=now())])
        live = LiveStore.open(None, city_dir)
        try:
            jobs = JobStore(live)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                done = [j for j in jobs.recent(10) if j.status in ("succeeded", "failed")]
                if done:
                    break
                time.sleep(0.3)
            recent = jobs.recent(10)
        finally:
            live.dispose()
        assert [(j.title, j.status.value) for j in recent] == [
            ("rebuild the population layer from the residents", "succeeded")]
        assert recent[0].worker.split(":")[1] in {str(w.pid) for w in workers}
        population = store.read("population_h3")
        assert (population.groupby("resolution")["residents"].sum() == 500).all()
    finally:
        for w in workers:
            w.send_signal(signal.SIGINT)
        outputs = [w.communicate(timeout=30) for w in workers]
    assert all(w.returncode in (0, 130) for w in workers), outputs
    assert all("Traceback" not in err for _, err in outputs), outputs


def test_cim_match_links_a_gbk_file_and_lists_the_rest_for_review(city_dir, tmp_path):
    plates = CityStore.open(city_dir).read("addresses").head(2)
    source = tmp_path / "来访登记.csv"
    texts = plates["text"].tolist()
    rows = [texts[0].removeprefix("湖北省武汉市"), texts[1].replace("栋", "幢"), "火星路1号"]
    source.write_bytes(("编号,地址\n" + "".join(f"{i},{t}\n" for i, t in enumerate(rows))).encode("gbk"))
    result = CliRunner().invoke(main, ["cim", "match", str(source), "--column", "地址", "--store", str(city_dir),
                                       "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["queries"], summary["matched"], summary["review"], summary["encoding"]) == (3, 2, 1, "gbk")
    matches = pd.read_csv(summary["matches"], dtype=str)
    assert matches["building_code"].tolist() == plates["building_code"].astype(str).tolist()
    assert pd.read_csv(summary["review_list"], dtype=str)["query"].tolist() == ["火星路1号"]
    missing = _twin("cim", "match", str(source), "--column", "addr", "--store", str(city_dir))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == f"error: {source} has no column 'addr'; its columns are ['编号', '地址']"
