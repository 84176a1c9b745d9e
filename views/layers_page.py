"""The layers screen (图层): every layer of the registry, with its sources, class, zooms and versions."""

from __future__ import annotations

from dash import dcc, html

from twin.services import Services
from views.access_gate import layers_for
from views.tables import table


def layout(services: Services) -> html.Div:
    listing = layers_for(services).listing()
    manifest = services.store.manifest()
    rows = []
    for layer in listing["layers"]:
        tables = ", ".join(f"{t} ({manifest.tables[t].rows:,})" if t in manifest.tables else f"{t} (missing)"
                           for t in layer["tables"])
        zoom = "all" if layer["minZoom"] is None else f"from {layer['minZoom']}"
        versions = "; ".join(f"{k + ': ' if k else ''}{v['version']}" for k, v in layer["versions"].items()) or "–"
        colourings = ", ".join(c["title"]["en"] for c in layer["colourings"]) or "–"
        link = dcc.Link("open 打开", href=f"/?layers={layer['id']}") if layer["toggle"] else "always on"
        rows.append((f"{layer['title']['zh']} {layer['title']['en']}", layer["id"], layer["renderer"], tables,
                     layer["classification"], zoom, colourings, versions, link))
    return html.Div(
        [
            html.H2(f"Layers 图层 ({len(rows)})"),
            html.P("Each layer is one spec in layers/registry.py; the map, this list and the API all read them "
                   "from there."),
            table(["Layer", "Id", "Drawn as", "From tables (rows)", "Class", "Zoom", "Colourings", "Version", ""],
                  rows, id="layers-table"),
        ],
        className="screen",
    )
