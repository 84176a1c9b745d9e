from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main

TWIN = Path(sys.executable).parent / "twin"


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], "demo"), (["demo"], "build"), (["demo", "build"], "--scale [small|city]"), (["serve"], "--port")],
)
def test_every_command_has_help(args, expected):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0
    assert expected in result.output


def test_demo_build_writes_a_city_and_reports_it(tmp_path):
    result = CliRunner().invoke(main, ["demo", "build", "--seed", "5", "--out", str(tmp_path / "c"),
                                       "--buildings", "200"])
    assert result.exit_code == 0, result.output
    assert "built 200 buildings" in result.output
    assert (tmp_path / "c" / "manifest.json").exists()


def test_serving_a_missing_city_prints_one_line_and_no_traceback(tmp_path):
    run = subprocess.run([str(TWIN), "serve", "--data", str(tmp_path / "nowhere")], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: no built city at {tmp_path / 'nowhere'} (no manifest.json); build one with: "
        f"twin demo build --out {tmp_path / 'nowhere'}"
    ]


def test_building_onto_a_file_is_refused_in_one_line(tmp_path):
    target = tmp_path / "city.txt"
    target.write_text("keep me")
    run = subprocess.run([str(TWIN), "demo", "build", "--buildings", "50", "--out", str(target)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: {target} is a file, not a folder; choose a folder for the city with --out"
    )
    assert target.read_text() == "keep me"


def test_building_where_nothing_can_be_written_names_the_path(tmp_path):
    parent = tmp_path / "parent"
    parent.write_text("a file where a folder should be")
    run = subprocess.run([str(TWIN), "demo", "build", "--buildings", "50", "--out", str(parent / "city")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(parent) in last and "Traceback" not in run.stderr


def test_a_bad_setting_in_the_environment_is_one_line_naming_the_variable(tmp_path):
    import os

    env = {**os.environ, "TWIN_PORT": "70000"}
    run = subprocess.run([str(TWIN), "serve", "--data", str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=60)
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
    run = subprocess.run([str(TWIN), "demo", "build", "--out", str(tmp_path / "c"), *args], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2
    assert message in run.stderr.strip().splitlines()[-1]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "c").exists()


def test_a_port_already_taken_names_the_port(city_data, built_city_dir):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([str(TWIN), "serve", "--data", str(built_city_dir), "--port", str(port)],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert run.stderr.strip().splitlines()[-1].endswith("choose another --port or TWIN_PORT")


def test_an_unknown_scale_is_refused_by_the_cli():
    result = CliRunner().invoke(main, ["demo", "build", "--scale", "huge"])
    assert result.exit_code == 2
    assert "'huge' is not one of 'small', 'city'" in result.output
