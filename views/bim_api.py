"""The BIM part of the HTTP API: models, their GLBs, their elements, and IFC uploads.

- ``GET /api/v1/bim/models``: the models in the city (id, name, where, storeys, counts, GLB URL);
- ``GET /api/v1/bim/models/{id}.glb``: the model's GLB (immutable: its URL carries its content hash);
- ``GET /api/v1/bim/models/{id}/elements/{n}``: element ``n`` of a model (class, name, storey, GlobalId,
  property sets), what a click on the model names;
- ``POST /api/v1/bim/uploads?name=FILE.ifc[&anchor=LON,LAT&rotation=DEG]``: the IFC file as the request
  body. It is streamed to disk (at most ``TWIN_BIM_MAX_MB``), then converted by a background job; the
  answer (202) names the job, whose progress ``/api/v1/jobs/{id}`` and the live stream report.

Rights are checked by the access gate (``views/access_gate.py``), not here.
"""

from __future__ import annotations

import json
import re

import flask
import pandas as pd

from bim.errors import BimError
from bim.georeference import Anchor
from layers.bim_models import glb_url, title_of
from twin.bim_jobs import JOB_KIND, incoming_path, safe_name
from twin.errors import NotFound, TwinError
from twin.services import Services
from views.access_gate import client_address, principal
from views.json_response import json_response
from views.map_state import model_link

CHUNK = 1 << 20
_MODEL_ID = re.compile(r"^[0-9A-Za-z_$]{1,64}$")


class UploadRefused(TwinError):
    status = 400


class TooLarge(TwinError):
    status = 413


def _model_row(services: Services, model_id: str) -> pd.Series:
    if not _MODEL_ID.match(model_id):
        raise UploadRefused(f"{model_id!r} is not a model id (an IFC GlobalId of 22 characters)")
    if not services.store.has("bim_models"):
        raise NotFound("this city has no BIM models yet; ingest one with twin bim ingest FILE.ifc")
    models = services.store.read("bim_models", where=("model_id", "==", model_id))
    if not len(models):
        raise NotFound(f"no BIM model {model_id!r} in this city; GET /api/v1/bim/models lists them")
    return models.iloc[0]


def register(server: flask.Flask, services: Services) -> None:
    @server.get("/api/v1/bim/models")
    def bim_models() -> flask.Response:
        if not services.store.has("bim_models"):
            return json_response({"models": []})
        m = services.store.read("bim_models")
        out = []
        for _, r in m.iterrows():
            west, south, east, north = r.geometry.bounds
            out.append({"id": r["model_id"], "title": title_of(r), "file": r["file"], "schema": r["schema"],
                        "lon": float(r["lon"]), "lat": float(r["lat"]), "bbox": [west, south, east, north],
                        "method": r["georef_method"], "storeys": json.loads(r["storey_list"]),
                        "spaces": int(r["spaces"]), "elements": int(r["elements"]), "height_m": float(r["height_m"]),
                        "building_code": None if pd.isna(r["building_code"]) else r["building_code"],
                        "address": None if pd.isna(r["address"]) else r["address"],
                        "glb": glb_url(r["model_id"], r["glb"]), "ingested_at": r["ingested_at"],
                        "map": model_link(float(r["lon"]), float(r["lat"]), str(r["model_id"]))})
        return json_response({"models": out})

    @server.get("/api/v1/bim/models/<model_id>.glb")
    def bim_glb(model_id: str) -> flask.Response:
        row = _model_row(services, model_id)
        path = services.store.blob(str(row["glb"]))
        etag = path.stem
        if etag in flask.request.if_none_match:
            response = flask.Response(status=304)
        else:
            response = flask.send_file(path, mimetype="model/gltf-binary", conditional=False, etag=False,
                                       download_name=f"{model_id}.glb")
        response.set_etag(etag)
        asked = flask.request.args.get("v")
        response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if asked == etag else "no-cache")
        return response

    @server.get("/api/v1/bim/models/<model_id>/elements/<int:index>")
    def bim_element(model_id: str, index: int) -> flask.Response:
        model = _model_row(services, model_id)
        hit = services.store.read("bim_elements", where=[("model_id", "==", model_id), ("index", "==", index)])
        if not len(hit):
            raise NotFound(f"model {model_id} has elements 0 to {int(model['elements']) - 1}, not {index}")
        e = hit.iloc[0]
        return json_response({"model_id": model_id, "index": index, "global_id": e["global_id"],
                              "ifc_class": e["ifc_class"], "kind": e["kind"],
                              "name": None if pd.isna(e["name"]) else e["name"],
                              "storey": None if pd.isna(e["storey"]) else e["storey"],
                              "psets": json.loads(e["psets"])})

    @server.post("/api/v1/bim/uploads")
    def bim_upload() -> flask.Response:
        limit = services.settings.bim_max_mb * 1024 * 1024
        name = safe_name(flask.request.args.get("name", ""))
        anchor = flask.request.args.get("anchor") or None
        rotation_text = flask.request.args.get("rotation") or None
        try:
            rotation = float(rotation_text) if rotation_text is not None else None
        except ValueError:
            raise UploadRefused(f"rotation={rotation_text!r}: give degrees, e.g. rotation=30") from None
        if anchor is not None:
            Anchor.parse(anchor, rotation=rotation)  # refused now, not in the job
        elif rotation is not None:
            raise BimError("rotation turns a model placed with anchor; give anchor=LON,LAT too")
        declared = flask.request.content_length
        if declared is not None and declared > limit:
            raise TooLarge(f"{name} is {declared / 1e6:,.1f} MB; uploads take at most "
                           f"{services.settings.bim_max_mb} MB "
                           f"(TWIN_BIM_MAX_MB)")
        path = incoming_path(services.store, name)
        size = 0
        try:
            with path.open("wb") as sink:
                stream = flask.request.stream
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"{name} is over {services.settings.bim_max_mb} MB, the most an upload may be "
                                       f"(TWIN_BIM_MAX_MB)")
                    sink.write(chunk)
            if size == 0:
                raise UploadRefused(f"{name}: the upload is empty; choose the IFC file again")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        who = principal()
        job = services.queue.submit(JOB_KIND, {"file": path.name, "name": name, "anchor": anchor, "rotation": rotation,
                                               "user": who.name, "bytes": size},
                                    title=f"IFC {name} → city", max_attempts=2)
        services.audit.record(actor=who.name, actor_kind=who.kind, action="store.ingest", target="bim_models",
                              ip=client_address(), detail={"file": name, "bytes": size, "job": job.id})
        return json_response({"job": job.to_json(), "bytes": size}, status=202)
