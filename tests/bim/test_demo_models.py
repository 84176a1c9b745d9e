"""The demo's IFC buildings, made by our own code: the same building has the same GlobalIds in every build."""

from __future__ import annotations

import ifcopenshell
import shapely

from bim.convert import convert_file
from bim.demo_models import DemoBuilding, write_demo_model
from bim.glb_writer import read_glb

# about 40 m by 20 m in 江汉区
BLOCK = shapely.box(114.2700, 30.5900, 114.2704, 30.5902)


def _building(key: str) -> DemoBuilding:
    return DemoBuilding(name="测试楼", address_lines=("江汉区测试路2号",), footprint=BLOCK, floors=3, height_m=10.8,
                        key=key)


def _ids(path) -> dict[int, str]:
    return {e.id(): e.GlobalId for e in ifcopenshell.open(str(path)).by_type("IfcRoot")}


def test_two_builds_of_one_building_give_the_same_global_ids(tmp_path):
    first = _ids(write_demo_model(tmp_path / "a.ifc", _building("420103001001001001")))
    second = _ids(write_demo_model(tmp_path / "b.ifc", _building("420103001001001001")))
    assert first == second
    assert len(set(first.values())) == len(first)  # and every one is its own
    other = _ids(write_demo_model(tmp_path / "c.ifc", _building("420103001001001002")))
    assert not set(other.values()) & set(first.values())


def test_a_demo_model_converts_with_its_glb_naming_every_element(tmp_path):
    path = write_demo_model(tmp_path / "a.ifc", _building("420103001001001001"))
    (model,) = convert_file(path).buildings
    assert model.placement.method == "map_conversion"
    assert [name for name, _ in model.storeys] == ["1F", "2F", "3F", "Roof 屋面"]
    doc = read_glb(model.glb)
    named = {n.extras["GlobalId"]: n.extras["class"] for n in doc.nodes[1:]}
    assert named == {e.global_id: e.ifc_class for e in model.elements}
    assert doc.nodes[0].extras["GlobalId"] == model.global_id
    # the footprint is the block it was drawn on (each storey's plan counted once in the union)
    assert model.footprint.symmetric_difference(BLOCK).area / BLOCK.area < 0.05
