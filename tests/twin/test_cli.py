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
     (["worker"], "--threads"), (["store"], "upgrade"), (["store", "put"], "KIND FILE"), (["jobs"], "list"),
     (["users"], "passwd"), (["users", "add"], "--password-file"), (["tokens"], "disable"),
     (["tokens", "add"], "--expires-days"), (["audit"], "--since")],
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


# --- users, tokens, audit --------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TWIN_PASSWORD", "TWIN_DATABASE_URL", "TWIN_DATA")}
    return {**env, **extra}


def _users(store: Path):
    from twin.live_store import LiveStore
    from twin.users import UserStore

    live = LiveStore.open(None, store)
    return live, UserStore(live)


def _add_admin(store: Path, name: str = "root") -> None:
    result = CliRunner().invoke(main, ["users", "add", name, "--role", "admin", "--store", str(store)],
                                env={"TWIN_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output


def test_the_first_user_must_be_an_admin(tmp_path):
    run = _twin("users", "add", "chen", "--role", "analyst", "--store", str(tmp_path / "c"),
                env=_env(TWIN_PASSWORD=PASSWORD), timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == ["error: the first user must be an admin: add one with --role admin"]
    live, users = _users(tmp_path / "c")
    assert users.is_empty()
    live.dispose()


def test_a_password_from_a_file_is_never_printed_and_signs_in(tmp_path):
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\nsecond line is ignored\n")
    result = CliRunner().invoke(main, ["users", "add", "root", "--role", "admin", "--role", "analyst",
                                       "--display-name", "管理员", "--password-file", str(secret),
                                       "--store", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert result.output == "added user root with roles admin, analyst\n"
    live, users = _users(tmp_path / "c")
    assert users.verify("root", PASSWORD, ip="127.0.0.1").roles == {"admin", "analyst"}
    assert users.get("root").display_name == "管理员"
    live.dispose()


def test_a_password_from_twin_password_or_asked_twice_without_echo(tmp_path):
    store = tmp_path / "c"
    _add_admin(store)
    asked = CliRunner().invoke(main, ["users", "add", "chen", "--role", "analyst", "--store", str(store)],
                               input=f"{PASSWORD}!\n{PASSWORD}!\n", env={"TWIN_PASSWORD": ""})
    assert asked.exit_code == 0, asked.output
    assert PASSWORD not in asked.output and "Repeat for confirmation" in asked.output
    live, users = _users(store)
    assert users.verify("root", PASSWORD, ip="127.0.0.1").name == "root"
    assert users.verify("chen", PASSWORD + "!", ip="127.0.0.1").name == "chen"
    live.dispose()


def test_there_is_no_password_option():
    result = CliRunner().invoke(main, ["users", "add", "root", "--role", "admin", "--password", PASSWORD])
    assert result.exit_code == 2 and "No such option '--password'" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "error: there is no role 'boss'; the roles are commander (指挥长), duty_officer (值班员), "
                             "dispatcher (调度员), handler (处置人员), planner (规划建设), gis_admin (GIS管理员), "
                             "analyst (分析员), admin (系统管理员), reporter (上报系统)"),
        (["--role", "admin", "--area", "42"], "error: grant area '42' is not a unit code: level code '42' has 2 "
                                              "digits; a level code has one of [6, 9, 12, 14, 17, 20]"),
        (["--role", "handler"], "error: a handler grant needs a department (处置人员 work for one); name it with "
                                "--department"),
    ],
)
def test_a_bad_grant_is_one_line_on_stderr(tmp_path, args, message):
    run = _twin("users", "add", "root", *args, "--store", str(tmp_path / "c"), env=_env(TWIN_PASSWORD=PASSWORD),
                timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [message]


def test_a_department_goes_to_the_handler_roles_only(tmp_path):
    store = tmp_path / "c"
    _add_admin(store)
    result = CliRunner().invoke(main, ["users", "add", "wang", "--role", "handler", "--role", "analyst",
                                       "--area", "420102", "--department", "城管委", "--store", str(store)],
                                env={"TWIN_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert result.output == "added user wang with roles analyst in 420102, handler in 420102 for 城管委\n"


def test_a_weak_password_is_refused_naming_the_rule(tmp_path):
    result = CliRunner().invoke(main, ["users", "add", "root", "--role", "admin", "--store", str(tmp_path / "c")],
                                env={"TWIN_PASSWORD": "short"})
    assert result.exit_code == 2
    assert result.output == "error: a password must have at least 10 characters; choose a longer one\n"


def test_users_list_disable_enable_and_passwd(tmp_path):
    store = tmp_path / "c"
    _add_admin(store)
    runner = CliRunner()
    listed = runner.invoke(main, ["users", "list", "--store", str(store), "--json"])
    assert [(u["name"], u["roles"], u["disabled"]) for u in json.loads(listed.output)] == [("root", ["admin"], False)]
    assert runner.invoke(main, ["users", "disable", "root", "--store", str(store)]).output == (
        "disabled user root; their sessions have ended\n")
    assert "root                 disabled" in runner.invoke(main, ["users", "list", "--store", str(store)]).output
    assert runner.invoke(main, ["users", "enable", "root", "--store", str(store)]).output == "enabled user root\n"
    changed = runner.invoke(main, ["users", "passwd", "root", "--store", str(store)],
                            env={"TWIN_PASSWORD": "another long passphrase"})
    assert changed.output == "set the password of root; their sessions have ended\n"
    unknown = runner.invoke(main, ["users", "passwd", "nobody", "--store", str(store)], input="x\n")
    assert unknown.exit_code == 2 and unknown.output == "error: no user 'nobody'; twin users list shows the users\n"
    live, users = _users(store)
    assert users.verify("root", "another long passphrase", ip="127.0.0.1").name == "root"
    live.dispose()


def test_tokens_add_prints_the_token_once_as_json(tmp_path):
    from twin.api_tokens import TokenStore
    from twin.live_store import LiveStore

    store = tmp_path / "c"
    result = CliRunner().invoke(main, ["tokens", "add", "gateway", "--role", "reporter", "--area", "420102",
                                       "--expires-days", "30", "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert list(issued) == ["name", "roles", "token"]
    assert issued["name"] == "gateway" and issued["roles"] == ["reporter"] and issued["token"].startswith("twt_")
    listed = CliRunner().invoke(main, ["tokens", "list", "--store", str(store)])
    assert listed.output.startswith("gateway") and issued["token"] not in listed.output
    live = LiveStore.open(None, store)
    assert TokenStore(live).verify(issued["token"]).name == "gateway"
    live.dispose()
    assert CliRunner().invoke(main, ["tokens", "disable", "gateway", "--store", str(store)]).output == (
        "disabled token gateway\n")
    assert json.loads(CliRunner().invoke(main, ["tokens", "list", "--store", str(store), "--json"]).output)[0][
        "disabled"] is True


def test_tokens_add_prints_only_the_token_on_stdout(tmp_path):
    run = _twin("tokens", "add", "gateway", "--role", "reporter", "--store", str(tmp_path / "c"), env=_env(),
                timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith("twt_") and len(run.stdout.strip().splitlines()) == 1
    assert run.stderr.strip() == "added token gateway with roles reporter; it is shown only this once:"


def test_the_audit_lists_what_the_commands_did_newest_first(tmp_path):
    store = tmp_path / "c"
    _add_admin(store)
    CliRunner().invoke(main, ["tokens", "add", "gateway", "--role", "reporter", "--store", str(store)])
    lines = CliRunner().invoke(main, ["audit", "--store", str(store)]).output.splitlines()
    assert [line.split()[3:6] for line in lines] == [["token.add", "gateway", "ok"], ["user.add", "root", "ok"]]
    assert all(line.split()[2].startswith("cli:") for line in lines)
    assert lines[0].index("token.add") == lines[1].index("user.add")  # aligned columns
    records = json.loads(CliRunner().invoke(main, ["audit", "--store", str(store), "--json", "--action", "user.add",
                                                   "--since", "1h"]).output)
    assert [(r["action"], r["target"], r["actor_kind"], r["detail"]) for r in records] == [
        ("user.add", "root", "cli", {"roles": ["admin"]})]
    assert PASSWORD not in json.dumps(records)
    assert CliRunner().invoke(main, ["audit", "--store", str(store), "--user", "nobody"]).output == ""
    bad = CliRunner().invoke(main, ["audit", "--store", str(store), "--since", "yesterday"])
    assert bad.exit_code == 2 and bad.output.startswith("error: since 'yesterday' is neither a duration")


def test_writes_to_the_store_from_the_shell_are_audited_refused_ones_too(city_dir, tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    refused = CliRunner().invoke(main, ["cim", "ingest", "boundaries", str(broken), "--store", str(city_dir)])
    assert refused.exit_code == 2
    plates = CityStore.open(city_dir).read("addresses")
    orgs = tmp_path / "orgs.csv"
    pd.DataFrame([{"名称": "测试学校", "类别": "school", "地址": plates["text"][0]}]).to_csv(orgs, index=False)
    done = CliRunner().invoke(main, ["cim", "ingest", "organisations", str(orgs), "--mode", "append",
                                     "--store", str(city_dir)])
    assert done.exit_code == 0, done.output
    records = json.loads(CliRunner().invoke(main, ["audit", "--store", str(city_dir), "--json",
                                                   "--action", "store.ingest"]).output)
    assert [(r["target"], r["outcome"], r["detail"]["file"]) for r in records] == [
        ("organisations", "ok", "orgs.csv"), ("boundaries", "failed", "broken.geojson")]
    assert records[0]["detail"]["rows"] == 1 and records[0]["actor"].startswith("cli:")
