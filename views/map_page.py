"""The map page (一屏统览): the 3D city, the address search, the drill-down panel and the layer controls.

The map and its controls are drawn by ``views/assets/city_map.js`` from the layer registry (Dash renders
only their containers). The panel is rendered here: with nothing picked it shows the whole city and its
districts; a picked unit or building shows its trail from the city, what it holds and the units below it
(:mod:`views.drill_panel`); the search box finds a building by its address and sends the map there.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html

from cim.levels import CodeError, Level, level_of
from layers.spec import Details
from twin.drill_down import LAYER_OF_LEVEL
from twin.errors import TwinError
from twin.services import Services
from views.access_gate import layers_for, principal
from views.drill_panel import drill_panel, search_results, trail_only
from views.feature_panel import error_panel, feature_panel
from views.shown_data import details_shown, home_unit, residents_shown, search_shown, unit_shown

SEARCH_HINT = "e.g. 江汉区友谊路12号锦苑小区3栋, or a compound's name"


def layout(_services: Services) -> html.Div:
    return html.Div(
        [
            html.Div(className="map-wrap"),  # the map itself (views/pages.py INDEX) shows through here
            html.Aside(
                [
                    html.Div(
                        [
                            dcc.Input(id="address-search", type="search", debounce=True,
                                      placeholder="地址搜索 Address search", autoComplete="off", maxLength=200),
                            html.Button("Go 搜索", id="address-search-go", className="search-go"),
                        ],
                        className="search-box",
                    ),
                    html.Div(SEARCH_HINT, id="search-results", className="panel-hint"),
                    dcc.Store(id="search-hit"),
                    dcc.Store(id="search-flown"),
                    html.H2("City 城市 › drill down 逐级下钻"),
                    html.Div(id="feature-panel"),
                    dcc.Store(id="picked-feature"),
                    html.Div(id="map-controls"),
                ],
                className="side",
            ),
        ],
        className="body",
    )


def panel(services: Services, picked: dict | None) -> html.Div:
    """The panel for what the map says was picked: a feature by index or key, a unit by code, or nothing."""
    who = principal()

    def shown(code: str, details: Details | None) -> html.Div:
        view = unit_shown(services, code, who)
        residents = residents_shown(services, view.unit.code, who) if view.unit.level is Level.BUILDING else None
        return drill_panel(view, details, residents)

    if not isinstance(picked, dict) or not (picked.get("layer") or picked.get("unit")):
        return shown(home_unit(who), None)
    layer = str(picked.get("layer") or "")
    if not layer:
        return shown(str(picked["unit"]), None)
    variant = _optional_text(picked.get("variant"))
    if picked.get("key") is not None:
        _, details = layers_for(services).find(layer, variant, str(picked["key"]))
    else:
        details = layers_for(services).details(layer, variant, _picked_index(picked),
                                               version=_optional_text(picked.get("version")))
    details = details_shown(details, who)
    if layer in LAYER_OF_LEVEL.values():
        return shown(details.key, details)
    return _in_its_place(services, details)


class BadPick(TwinError):
    """What the map says was picked names no feature (a hand-edited URL, say)."""


def _picked_index(picked: dict) -> int:
    index = picked.get("index")
    if isinstance(index, bool) or not isinstance(index, int | str) or not str(index).isdigit():
        raise BadPick(f"the map picked feature {str(index)[:20]!r} of layer {str(picked.get('layer'))[:40]!r}, "
                      "which is not a feature number; click the feature again")
    return int(index)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)[:100]


def _in_its_place(services: Services, details: Details) -> html.Div:
    """A feature that is not a unit, under the trail of the finest unit its codes name."""
    for _, code in reversed(details.codes):
        try:
            level_of(code)
            return trail_only(services.drill.trail_of(code), details)
        except (CodeError, TwinError):
            continue
    return html.Div(feature_panel(details))


def register_callbacks(app: dash.Dash, services: Services) -> None:
    @app.callback(Output("feature-panel", "children"), Input("picked-feature", "data"))
    def show_feature(picked: dict | None) -> html.Div:
        try:
            return panel(services, picked)
        except (TwinError, CodeError) as exc:  # a hand-edited URL: say what it names that is not there
            return error_panel(str(exc))

    @app.callback(Output("search-results", "children"), Output("search-hit", "data"),
                  Input("address-search", "value"), Input("address-search-go", "n_clicks"),
                  State("address-search", "value"), prevent_initial_call=True)
    def search(_typed: str | None, _clicks: int | None, text: str | None) -> tuple:
        if not (text or "").strip():
            return "", None
        try:
            result = search_shown(services.search.search(text or ""), principal())
        except TwinError as exc:
            return error_panel(str(exc)), None
        hit = None
        if result.match is not None:
            unit = services.drill.view(result.match.building_code).unit
            hit = {"layer": "buildings", "code": unit.code, "bbox": list(unit.bbox) if unit.bbox else None}
        return search_results(result, lambda code: _bbox_text(services, code)), hit

    app.clientside_callback(
        ClientsideFunction(namespace="twin", function_name="goTo"),
        Output("search-flown", "data"),
        Input("search-hit", "data"),
        prevent_initial_call=True,
    )


def _bbox_text(services: Services, code: str) -> str:
    try:
        box = services.drill.view(code).unit.bbox
    except TwinError:
        return ""
    return ",".join(f"{v:.6f}" for v in box) if box else ""
