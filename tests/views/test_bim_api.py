"""The BIM part of the API: models, GLBs (immutable, by content hash), elements, and IFC uploads."""

from __future__ import annotations

import json

import pytest

from bim.glb_writer import read_glb
from tests.conftest import SHARED_DATA, client_as
from twin.bim_jobs import INCOMING, run_bim_ingest
from twin.job_queue import JobContext
from twin.services import open_services
from twin.settings import load_settings

OPEN_HOUSE = SHARED_DATA / "ifc" / "IfcOpenHouse_IFC4.ifc"


@pytest.fixture()
def services(city_dir):
    s = open_services(load_settings(data=city_dir))
    yield s
    s.close()


def test_the_models_list_and_their_glbs_and_elements(services):
    client = client_as(services, "analyst")
    models = client.get("/api/v1/bim/models").json["models"]
    assert len(models) == 3 and all(m["method"] == "map_conversion" for m in models)
    m = models[0]
    # the map's link for the model: opened over it, the models drawn, the model selected
    assert m["map"].startswith(f"/?view={m['lon']:.5f},{m['lat']:.5f},18.6,40,")
    assert m["map"].endswith(f"&sel=bim:{m['id']}") and "&layers=" not in m["map"]  # the models are on by default
    assert services.layers.registry.get("bim").visible
    glb = client.get(m["glb"])
    assert glb.status_code == 200 and glb.mimetype == "model/gltf-binary"
    assert glb.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    doc = read_glb(glb.data)
    assert sum(1 for n in doc.nodes if n.mesh is not None) == m["elements"]
    again = client.get(m["glb"], headers={"If-None-Match": glb.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(m["glb"].split("?")[0]).headers["Cache-Control"] == "no-cache"  # no hash: ask again
    node = next(n for n in doc.nodes if n.mesh is not None and n.extras["class"] == "IfcWindow")
    element = client.get(f"/api/v1/bim/models/{m['id']}/elements/{node.extras['index']}").json
    assert element["global_id"] == node.extras["GlobalId"] and element["ifc_class"] == "IfcWindow"
    assert element["psets"]["Pset_WindowCommon"]["IsExternal"] is True


@pytest.mark.parametrize(("path", "status", "error"), [
    ("/api/v1/bim/models/nosuchmodel000000000000.glb", 404, "no BIM model 'nosuchmodel000000000000' in this city"),
    ("/api/v1/bim/models/bad%20id!.glb", 400, "is not a model id"),
])
def test_a_model_that_is_not_there_is_one_line(services, path, status, error):
    response = client_as(services, "analyst").get(path)
    assert response.status_code == status and error in response.json["error"]


def test_an_element_number_past_the_last_is_404(services):
    client = client_as(services, "analyst")
    m = client.get("/api/v1/bim/models").json["models"][0]
    response = client.get(f"/api/v1/bim/models/{m['id']}/elements/99999")
    assert response.status_code == 404
    assert response.json["error"] == f"model {m['id']} has elements 0 to {m['elements'] - 1}, not 99999"


def test_only_a_planner_or_gis_admin_may_upload(services):
    body = OPEN_HOUSE.read_bytes()
    for role in ("analyst", "commander", "admin"):
        refused = client_as(services, role).post("/api/v1/bim/uploads?name=h.ifc&anchor=114.3,30.57", data=body)
        assert refused.status_code == 403 and "may not upload_ifc" in refused.json["error"], role
    assert not (services.store.folder / INCOMING).exists() or not any((services.store.folder / INCOMING).iterdir())


@pytest.mark.parametrize(("query", "body", "status", "error"), [
    ("name=plan.dwg", b"x", 400, "'plan.dwg' is not an IFC file; upload a .ifc or .ifczip file"),
    ("name=h.ifc&anchor=north", b"x", 400, "--anchor 'north': give LON,LAT"),
    ("name=h.ifc&rotation=30", b"x", 400, "rotation turns a model placed with anchor; give anchor=LON,LAT too"),
    ("name=h.ifc&anchor=114.3,30.5&rotation=left", b"x", 400, "rotation='left': give degrees"),
    ("name=h.ifc", b"", 400, "h.ifc: the upload is empty; choose the IFC file again"),
])
def test_a_bad_upload_is_refused_in_one_line_and_nothing_is_kept(services, query, body, status, error):
    response = client_as(services, "planner").post(f"/api/v1/bim/uploads?{query}", data=body)
    assert response.status_code == status and error in response.json["error"]
    assert "\n" not in response.json["error"]
    incoming = services.store.folder / INCOMING
    assert not incoming.exists() or not any(incoming.iterdir())


def test_an_upload_over_the_limit_is_413_and_not_kept(city_dir):
    services = open_services(load_settings(data=city_dir, bim_max_mb=1))
    try:
        response = client_as(services, "planner").post("/api/v1/bim/uploads?name=big.ifc",
                                                       data=b"x" * (1024 * 1024 + 1))
        assert response.status_code == 413 and "at most 1 MB" in response.json["error"]
        incoming = services.store.folder / INCOMING
        assert not incoming.exists() or not any(incoming.iterdir())
    finally:
        services.close()


def test_an_upload_becomes_a_job_that_places_the_model(services):
    client = client_as(services, "planner")
    before = len(services.store.read("bim_models"))
    answer = client.post("/api/v1/bim/uploads?name=IfcOpenHouse_IFC4.ifc&anchor=114.3,30.57&rotation=10",
                         data=OPEN_HOUSE.read_bytes())
    assert answer.status_code == 202 and answer.json["bytes"] == OPEN_HOUSE.stat().st_size
    job = services.jobs.get(answer.json["job"]["id"])
    assert job.kind == "bim.ingest" and job.params["anchor"] == "114.3,30.57"
    seen = []
    result = run_bim_ingest(JobContext(services.store, services.jobs), job.params,
                            lambda share, text: seen.append((share, text)))
    (model,) = result["models"]
    assert model["method"] == "anchor" and model["storeys"] == 1 and model["elements"] > 0
    assert seen[-1][0] == 1.0 and seen[-1][1] == "placed 1 building from IfcOpenHouse_IFC4.ifc"
    stored = services.store.read("bim_models")
    assert len(stored) == before + 1
    assert stored.set_index("model_id").loc[model["id"], "file"] == "IfcOpenHouse_IFC4.ifc"
    assert not any((services.store.folder / INCOMING).iterdir())  # the upload is gone once placed
    audit = [r for r in services.audit.query(action="store.ingest") if r.target == "bim_models"]
    assert audit and json.dumps(audit[0].detail).count("IfcOpenHouse_IFC4.ifc") == 1
