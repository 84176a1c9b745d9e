"""Every shared IFC file converts: its storeys, spaces and elements, and where it stands, checked against the
file's own STEP text read here without ifcopenshell (and pyproj for the map conversion)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from pyproj import Transformer

from bim.convert import convert_file
from bim.errors import BimError
from bim.georeference import Anchor, distance_m
from bim.glb_writer import read_glb
from tests.conftest import SHARED_DATA

IFC = SHARED_DATA / "ifc"

#: file: (schema, storeys, spaces, how it is placed) as the manifest and the STEP text say
EXPECTED = {
    "Duplex_Architecture_IFC2x3.ifc": ("IFC2X3", 4, 21, "site_reference"),
    "SampleHouse4.ifc": ("IFC4", 2, 4, "site_reference"),
    "Schependomlaan_IFC-kalkzandsteen.ifc": ("IFC2X3", 5, 0, "site_reference"),
    "geographic-referencing-gk.ifc": ("IFC4X3_ADD2", 1, 0, "map_conversion"),
}


def _step(path: Path) -> str:
    return path.read_text(encoding="latin-1")


def _compound(text: str) -> float:
    parts = [int(p) for p in text.split(",")]
    d, m, s, micro = [*parts, 0, 0, 0, 0][:4]
    return d + m / 60 + s / 3600 + micro / 3.6e9


def _site_ref(step: str) -> tuple[float, float]:
    """RefLongitude, RefLatitude of the IfcSite, from the STEP line itself."""
    line = re.sub(r"\s+", "", re.search(r"IFCSITE\((.*?)\);", step, re.S).group(1))
    lat, lon = re.findall(r"\((-?\d+,-?\d+,-?\d+(?:,-?\d+)?)\)", line)[:2]
    return _compound(lon), _compound(lat)


def _map_conversion_ref(step: str) -> tuple[float, float]:
    e, n = re.search(r"IFCMAPCONVERSION\(#\d+,#\d+,([-\d.E]+),([-\d.E]+),", step).groups()
    epsg = re.search(r"IFCPROJECTEDCRS\('(EPSG:\d+)'", step).group(1)
    return Transformer.from_crs(epsg, "EPSG:4326", always_xy=True).transform(float(e), float(n))


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def converted(request):
    path = IFC / request.param
    return request.param, convert_file(path, num_threads=1)


def test_each_file_gives_its_storeys_spaces_and_elements(converted):
    name, result = converted
    schema, storeys, spaces, method = EXPECTED[name]
    assert result.schema == schema
    (model,) = result.buildings
    assert len(model.storeys) == storeys and len(model.spaces) == spaces
    assert model.placement.method == method
    assert sum(model.counts.values()) + spaces == len(model.elements) > 0  # counts leave the rooms out
    assert all(e.ifc_class != "IfcOpeningElement" for e in model.elements)
    if spaces:
        assert all(s.area_m2 > 0 for s in model.spaces)


def test_each_file_stands_where_its_own_text_says_within_5_m(converted):
    name, result = converted
    (model,) = result.buildings
    step = _step(IFC / name)
    lon, lat = _map_conversion_ref(step) if model.placement.method == "map_conversion" else _site_ref(step)
    assert distance_m(model.placement.lon, model.placement.lat, lon, lat) < 5.0
    centre = model.footprint.centroid
    assert distance_m(centre.x, centre.y, lon, lat) < 150  # the building itself, not only its reference


def test_the_glb_has_a_node_per_element_naming_it(converted):
    _, result = converted
    (model,) = result.buildings
    doc = read_glb(model.glb)
    nodes = [n for n in doc.nodes[1:] if n.mesh is not None]
    assert 0 < len(nodes) <= len(model.elements)
    by_index = {e.index: e for e in model.elements}
    for node in nodes[:50]:
        element = by_index[node.extras["index"]]
        assert node.extras["GlobalId"] == element.global_id and node.extras["class"] == element.ifc_class
        assert node.extras["storey"] == element.storey


def test_the_duplex_knows_its_storeys_by_name_and_its_walls_psets():
    result = convert_file(IFC / "Duplex_Architecture_IFC2x3.ifc", anchor=Anchor.parse("114.30,30.58"))
    (model,) = result.buildings
    assert [name for name, _ in model.storeys] == ["T/FDN", "Level 1", "Level 2", "Roof"]
    wall = next(e for e in model.elements if e.ifc_class == "IfcWallStandardCase")
    psets = json.loads(wall.psets)
    assert "Pset_WallCommon" in psets and wall.storey in {"Level 1", "Level 2", "T/FDN", "Roof"}
    assert model.placement.method == "anchor"
    assert abs(model.placement.lon - 114.30) < 1e-9 and abs(model.placement.lat - 30.58) < 1e-9
    assert any("--anchor overrides the file's IfcSite" in w for w in model.placement.warnings)
    assert 6 < model.height_m < 12


def test_a_file_that_says_nowhere_it_stands_is_refused_until_anchored():
    path = IFC / "IfcOpenHouse_IFC4.ifc"
    with pytest.raises(BimError, match=r"IfcOpenHouse_IFC4.ifc: the model says nowhere where it stands .* place it "
                                       r"with --anchor LON,LAT"):
        convert_file(path)
    result = convert_file(path, anchor=Anchor.parse("114.31,30.57", rotation=30))
    (model,) = result.buildings
    assert model.placement.rotation == 30 and len(model.storeys) == 1
    centre = model.footprint.centroid
    assert distance_m(centre.x, centre.y, 114.31, 30.57) < 30


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"the file is empty \(0 bytes\); export the model again"),
    (b"hello, I am a spreadsheet", r"not an IFC file \(STEP files begin with ISO-10303-21;\)"),
    (b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4X1'));\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n",
     r"schema IFC4X1 cannot be read; this version reads IFC2X3, IFC4, IFC4X3_ADD2"),
])
def test_a_broken_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "broken.ifc"
    path.write_bytes(content)
    with pytest.raises(BimError, match=message) as caught:
        convert_file(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_file_cut_short_is_named_as_such(tmp_path):
    whole = (IFC / "IfcOpenHouse_IFC4.ifc").read_bytes()
    path = tmp_path / "cut.ifc"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BimError, match=r"cut.ifc: the file is cut short \(no END-ISO-10303-21; at its end\)"):
        convert_file(path, anchor=Anchor.parse("114.3,30.5"))


@pytest.mark.parametrize(("text", "message"), [
    ("114.3", r"give LON,LAT"),
    ("north,30", r"give LON,LAT"),
    ("514.3,30.5", r"longitude"),
])
def test_a_bad_anchor_is_refused(text, message):
    with pytest.raises(BimError, match=message):
        Anchor.parse(text)


def test_rotations_are_read_as_degrees_counter_clockwise_from_east():
    assert math.isclose(Anchor.parse("114.3,30.5", rotation=45).rotation, 45)
