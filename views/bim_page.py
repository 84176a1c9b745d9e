"""The BIM screen (建筑模型): the IFC buildings in the city, and loading a new one.

A planner (or GIS admin) chooses an IFC file; the browser sends it to ``POST /api/v1/bim/uploads`` with
its progress shown, then follows the conversion job until the model stands in the city, and opens the
map on it (``views/assets/bim_upload.js``). Everyone who may see the screens sees the list.
"""

from __future__ import annotations

import json

import pandas as pd
from dash import dcc, html

from layers.bim_models import METHOD_LABELS, title_of
from twin.permissions import Action, roles_with
from twin.services import Services
from views.access_gate import viewer
from views.map_state import model_link
from views.tables import table


def _models(services: Services) -> list[tuple]:
    if not services.store.has("bim_models"):
        return []
    rows = []
    for _, r in services.store.read("bim_models").iterrows():
        storeys = json.loads(r["storey_list"])
        address = r["address"] if r["address"] is not None and not pd.isna(r["address"]) else "–"
        code = r["building_code"] if r["building_code"] is not None and not pd.isna(r["building_code"]) else "–"
        placed = METHOD_LABELS.get(str(r["georef_method"]), str(r["georef_method"]))
        rows.append((title_of(r), address, code, len(storeys), int(r["spaces"]), f"{int(r['elements']):,}",
                     placed, f"{r['file']} ({r['schema']})", str(r["ingested_at"]).replace("T", " ")[:16],
                     dcc.Link("show on map 查看", href=model_link(float(r["lon"]), float(r["lat"]), str(r["model_id"])),
                              className="bim-show", refresh=True)))
    return rows


def _upload(services: Services) -> html.Div:
    who = viewer()
    if not who.may(Action.UPLOAD_IFC):
        roles = ", ".join(r.value for r in roles_with(Action.UPLOAD_IFC))
        return html.P(f"Loading an IFC model takes the {roles} role; {who.name} has none of them.",
                      id="bim-upload-denied", className="hint")
    limit = services.settings.bim_max_mb
    return html.Div([
        html.H3("Load an IFC model 上传模型"),
        html.P(f"IFC2X3, IFC4 or IFC4X3 (.ifc, .ifczip), up to {limit} MB. A model placed by its own "
               "IfcMapConversion or IfcSite reference needs nothing more; one that says nowhere where it "
               "stands needs the point of its origin (longitude, latitude) and the turn of its x axis from east.",
               className="hint"),
        html.Div([
            html.Div(id="bim-file-slot"),  # bim_upload.js puts the file chooser here (Dash has no file input)
            dcc.Input(type="text", id="bim-anchor", placeholder="anchor: 114.30,30.58 (optional)"),
            dcc.Input(type="number", id="bim-rotation", placeholder="rotation ° (optional)"),
            html.Button("Upload 上传", id="bim-upload", n_clicks=0, **{"data-limit-mb": str(limit)}),
        ], className="bim-upload-row"),
        html.Progress(id="bim-upload-progress", max="1", value="0"),
        html.Div(id="bim-upload-status", className="status", role="status"),
    ], className="bim-upload")


def layout(services: Services) -> html.Div:
    rows = _models(services)
    return html.Div([
        html.H2(f"IFC buildings 建筑模型 ({len(rows)})"),
        _upload(services),
        table(["Building", "Address 地址", "Building code 楼栋编码", "Storeys", "Spaces", "Elements",
               "Placed by", "File", "Loaded", ""], rows, id="bim-table", numeric=(3, 4, 5))
        if rows else html.P("No IFC model is in the city yet.", id="bim-none"),
    ], className="screen")
