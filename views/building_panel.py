"""The side panel that shows one building: address, use, floors, residents and its seven level codes."""

from __future__ import annotations

from dash import html

from cim.levels import Level
from cim.synthetic import USE_ZH
from twin.city_data import BuildingDetails

EMPTY_HINT = "Click a building to see its address, floors and residents."


def empty_panel() -> html.Div:
    return html.Div(EMPTY_HINT, className="panel-hint")


def building_panel(b: BuildingDetails) -> html.Div:
    facts = [
        ("Address 地址", b.address),
        ("Use 用途", f"{USE_ZH.get(b.use, b.use)} ({b.use})"),
        ("Floors 层数", str(b.floors)),
        ("Height 高度", f"{b.height_m:.1f} m"),
        ("Residents 实有人口", f"{b.residents:,}"),
        ("Dwellings 房屋", f"{b.dwellings:,}"),
    ]
    codes = [html.Tr([html.Td(f"{lv.label_zh} {lv.name.lower()}"), html.Td(b.codes[lv.column])]) for lv in Level]
    return html.Div(
        [
            html.H3(f"{b.names['compound']} {b.address.rsplit(b.names['compound'], 1)[-1]}", id="building-title"),
            html.Dl([item for label, value in facts for item in (html.Dt(label), html.Dd(value))],
                    id="building-facts"),
            html.H4("Codes at the seven levels"),
            html.Table(html.Tbody(codes), className="codes"),
        ],
        className="building-panel",
        **{"data-building-code": b.code},
    )
