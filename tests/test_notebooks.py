"""Every notebook runs top to bottom on the project's own functions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


#: What each notebook's last output must show.
LAST_OUTPUT = {
    "01_population_layer.ipynb": "江汉区",  # the roll-up table names the districts
    "02_city_base.ipynb": "火星路1号  no candidate",  # the address that exists nowhere is left for review
    "04_bim.ipynb": "湖北省武汉市",  # the demo's models took their buildings' standard addresses
}

#: What a notebook draws: the BIM notebook shows the ingested model's footprint (orange) among the city's buildings.
DRAWN = {"04_bim.ipynb": {"image/svg+xml": 'fill="#ff8c1a"'}}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == sorted(LAST_OUTPUT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    last = nb.cells[-1].outputs[0]["data"]["text/plain"]
    assert LAST_OUTPUT[path.name] in last
    for mimetype, text in DRAWN.get(path.name, {}).items():
        assert any(text in o.get("data", {}).get(mimetype, "") for o in outputs), f"no {mimetype} showing {text}"
