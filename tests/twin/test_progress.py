"""Progress on stderr: a bar with the step's counts after a second of work, nothing for quick work."""

from __future__ import annotations

import io
import time

from rich.console import Console

from cim.ingest import STEPS, IngestRequest
from twin.city_ingest import ingest_file
from twin.city_store import CityStore
from twin.progress import Steps


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system=None), out


def test_a_long_step_shows_a_bar_with_its_counts():
    console, out = _terminal()
    with Steps(console=console, show_after=0.05) as steps:
        steps("reading big.geojson", done=1, total=5)
        time.sleep(0.4)
        steps("placing 75,000 buildings at the seven levels", done=3, total=5)
        time.sleep(0.4)
    shown = out.getvalue()
    assert "reading big.geojson" in shown and "1/5" in shown
    assert "placing 75,000 buildings at the seven levels" in shown and "3/5" in shown


def test_a_step_given_a_share_shows_it_and_a_message_alone_still_works():
    console, out = _terminal()
    with Steps(console=console, show_after=0.05) as steps:
        steps("converting model.ifc (40%)")  # how another command calls it: the message only
        time.sleep(0.3)
        steps("tessellating", 0.5)
        time.sleep(0.3)
    shown = out.getvalue()
    assert "converting model.ifc (40%)" in shown
    assert "tessellating" in shown and "50%" in shown


def test_quick_work_and_quiet_commands_show_nothing():
    console, out = _terminal()
    with Steps(console=console) as steps:  # the default: only after a second
        steps("reading small.geojson", done=1, total=5)
    with Steps(console=console, quiet=True, show_after=0.0) as steps:
        steps("reading small.geojson", done=1, total=5)
        time.sleep(0.2)
    assert out.getvalue() == ""


def test_an_ingest_counts_its_steps(tmp_path, shared_data):
    said: list[tuple[str, int | None, int | None]] = []
    store = CityStore.open(tmp_path / "city", create=True)
    ingest_file(store, IngestRequest(kind="boundaries", crs="gcj02",
                                     path=shared_data / "geo" / "wuhan_420100_datav_districts_array.json"),
                progress=lambda message, fraction=None, *, done=None, total=None: said.append((message, done, total)))
    assert [done for _, done, _ in said] == list(range(STEPS))
    assert {total for *_, total in said} == {STEPS}
    assert said[2][0] == "placing 13 boundaries (in gcj02) at the seven levels"
