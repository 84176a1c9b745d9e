"""The one-screen view (一屏统览): the 3D city, layer controls and the building panel."""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, dcc, html

from cim.synthetic import USE_ZH
from layers.scene import USE_COLOURS
from twin.city_data import CityData
from twin.errors import TwinError
from views.building_panel import building_panel, empty_panel

LAYER_OPTIONS = [
    {"label": "Buildings 楼栋", "value": "buildings"},
    {"label": "Population 人口 (H3)", "value": "population"},
    {"label": "Districts 区界", "value": "districts"},
    {"label": "Water 水系", "value": "water"},
]
DEFAULT_LAYERS = ["buildings", "districts", "water"]


#: The first view: the confluence of the Yangtze and the Han, looking north-east.
INITIAL_VIEW = {"longitude": 114.30, "latitude": 30.575, "zoom": 12.6, "pitch": 50, "bearing": -20}

#: The page around Dash's app. The map's container stands outside Dash's React tree, so deck.gl starts
#: drawing as soon as our script runs instead of after Dash has booted and rendered its layout; the
#: controls Dash renders later steer it through the clientside callback.
INDEX = """<!DOCTYPE html>
<html lang="zh-CN">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>
<div id="city-map"></div>
<script id="twin-map-config" type="application/json">CONFIG</script>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def map_config(city: CityData) -> dict[str, Any]:
    """What the browser needs to start the map before Dash runs: the view and the first choice of layers.

    Layers are fetched by name from ``/api/layers/NAME.bin``.
    """
    return {"view": INITIAL_VIEW, "layers": DEFAULT_LAYERS, "colourBy": "use",
            "resolution": default_resolution(city)}


def default_resolution(city: CityData) -> int:
    resolutions = city.population.resolutions
    if not resolutions:
        return 8
    return 8 if 8 in resolutions else max(resolutions)


def index_page(city: CityData) -> str:
    """The page template with the map's start-up configuration in it."""
    return INDEX.replace("CONFIG", json.dumps(map_config(city)).replace("</", "<\\/"))


def legend_rows(colour_by: str) -> list[html.Div]:
    """What the building colours mean, for the current colouring."""
    if colour_by == "residents":
        ramp = "linear-gradient(90deg, rgb(255,255,178), rgb(253,141,60), rgb(189,0,38))"
        return [
            html.Div("Residents per building 楼栋人口"),
            html.Div([html.Span(className="ramp", style={"background": ramp}), "few → many"]),
            html.Div([html.Span(className="swatch", style={"background": "rgb(120,130,145)"}), "nobody lives here"]),
        ]
    return [
        html.Div([html.Span(className="swatch", style={"background": f"rgb{colour}"}), f"{USE_ZH[use]} {use}"])
        for use, colour in USE_COLOURS.items()
    ]


def legend() -> html.Div:
    return html.Div(legend_rows("use"), id="map-legend")


def layout(city: CityData) -> html.Div:
    resolutions = list(city.population.resolutions)
    m = city.manifest
    return html.Div(
        [
            html.Header(
                [
                    html.H1("武汉城市运行 · 一屏统览"),
                    html.Span("City operations twin", className="subtitle"),
                    html.Span(
                        f"{m['buildings']:,} buildings · {m['residents']:,} residents · "
                        f"{len(city.districts)} districts",
                        id="city-summary",
                    ),
                ],
                className="topbar",
            ),
            html.Main(
                [
                    html.Div([legend()], className="map-wrap"),  # the map itself lies beneath (INDEX)
                    html.Aside(
                        [
                            html.H2("Layers 图层"),
                            dcc.Checklist(LAYER_OPTIONS, DEFAULT_LAYERS, id="layer-toggles", className="toggles"),
                            html.H2("Colour buildings by 着色"),
                            dcc.RadioItems(
                                [
                                    {"label": "Use 用途", "value": "use"},
                                    {"label": "Residents 人口", "value": "residents"},
                                ],
                                "use",
                                id="colour-by",
                                inline=True,
                            ),
                            html.H2("Population cells 人口网格"),
                            dcc.RadioItems(
                                [{"label": f"res {r}", "value": r} for r in resolutions if r >= 6],
                                default_resolution(city),
                                id="population-resolution",
                                inline=True,
                            ),
                            html.H2("Building 楼栋"),
                            html.Div(empty_panel(), id="building-panel"),
                            html.Div("loading map…", id="map-status", className="status"),
                        ],
                        className="side",
                    ),
                ],
                className="body",
            ),
            dcc.Store(id="picked-building"),
        ],
        className="page",
    )


def register_callbacks(app: dash.Dash, city: CityData) -> None:
    app.clientside_callback(
        ClientsideFunction(namespace="twin", function_name="renderMap"),
        Output("map-status", "title"),
        Input("layer-toggles", "value"),
        Input("colour-by", "value"),
        Input("population-resolution", "value"),
    )

    @app.callback(Output("map-legend", "children"), Input("colour-by", "value"), prevent_initial_call=True)
    def show_legend(colour_by: str) -> list[html.Div]:
        return legend_rows(colour_by)

    @app.callback(
        Output("building-panel", "children"), Input("picked-building", "data"), prevent_initial_call=True
    )
    def show_building(picked: dict | None) -> html.Div:
        if not picked or "index" not in picked:
            return empty_panel()
        try:
            index = int(picked["index"])
            return building_panel(city.building(index))
        except (TwinError, TypeError, ValueError) as exc:
            return html.Div(f"Cannot show that building: {exc}", className="panel-error")
