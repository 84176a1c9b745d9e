"""Access from the shell: grants for an area the city lacks are refused, and audit dates out of range are one
line, checked by running the real ``twin`` command and reading stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TWIN = Path(sys.executable).parent / "twin"
PASSWORD = "correct horse battery"


def _twin(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TWIN_DATABASE_URL", "TWIN_DATA")}
    return subprocess.run([str(TWIN), *args], capture_output=True, text=True, timeout=120,
                          env={**env, "TWIN_PASSWORD": PASSWORD})


@pytest.mark.parametrize("command", [["users", "add", "root", "--role", "admin"],
                                     ["tokens", "add", "bureau", "--role", "analyst"]])
def test_a_grant_for_an_area_the_city_lacks_is_refused_in_one_line(city_dir, command):
    run = _twin(*command, "--area", "420199", "--store", str(city_dir))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "error: the city has no district with code 420199; give the code of one of its units "
        "(GET /api/v1/units/420100 lists the districts, each lists what lies below)"]


def test_a_grant_for_an_area_the_city_has_is_made(city_dir):
    run = _twin("users", "add", "root", "--role", "admin", "--area", "420102", "--store", str(city_dir))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "added user root with roles admin in 420102\n"


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_audit_since_out_of_range_is_one_line(tmp_path, since):
    run = _twin("audit", "--since", since, "--store", str(tmp_path / "c"))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        f"error: since {since!r} lies outside the dates the audit log can hold; give a date from "
        f"0001-01-02 to 9999-12-30, or a duration like 30m, 2h or 7d"]


def _one_time(folder: Path) -> dict[str, bool]:
    from twin.live_store import LiveStore
    from twin.users import UserStore

    live = LiveStore.open(None, folder)
    try:
        return {u.name: u.must_change_password for u in UserStore(live).list()}
    finally:
        live.dispose()


def test_demo_users_get_one_time_passwords_and_an_admin_can_give_one(tmp_path):
    folder = tmp_path / "c"
    run = _twin("demo", "users", "--store", str(folder))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "demo users (one-time passwords made for this run: sign in at /signin, then choose your own):"
    assert len(lines) == 1 + 9 and lines[1].split()[0] == "demo-commander"
    assert set(_one_time(folder).values()) == {True}
    run = _twin("users", "add", "root", "--role", "admin", "--store", str(folder))
    assert run.returncode == 0 and run.stdout == "added user root with roles admin\n"
    run = _twin("users", "passwd", "demo-analyst", "--one-time", "--store", str(folder))
    assert run.returncode == 0, run.stderr
    assert run.stdout == ("set the password of demo-analyst; their sessions have ended; "
                          "they choose their own at the next sign-in\n")
    run = _twin("users", "passwd", "demo-commander", "--store", str(folder))
    assert run.returncode == 0, run.stderr
    flags = _one_time(folder)
    assert (flags["root"], flags["demo-analyst"], flags["demo-commander"]) == (False, True, False)
