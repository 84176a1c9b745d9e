"""The side panel's account of one picked feature (a building, an H3 cell, a street...): any layer's
:class:`~layers.spec.Details`, laid out the same way."""

from __future__ import annotations

from dash import html

from layers.spec import Details

EMPTY_HINT = "Click a building, a cell or an area to see what it is."


def empty_panel() -> html.Div:
    return html.Div(EMPTY_HINT, className="panel-hint")


def error_panel(message: str) -> html.Div:
    return html.Div(f"Cannot show that: {message}", className="panel-error")


def feature_panel(d: Details) -> html.Div:
    parts: list = [html.H3(d.title, id="feature-title")]
    if d.subtitle:
        parts.append(html.Div(d.subtitle, className="feature-subtitle"))
    parts.append(html.Dl([item for label, value in d.facts for item in (html.Dt(label), html.Dd(value))],
                         id="feature-facts"))
    if d.codes:
        parts.append(html.H4(f"Codes at {'the seven levels' if len(d.codes) == 7 else 'each level'}"))
        parts.append(html.Table(html.Tbody([html.Tr([html.Td(label), html.Td(code)]) for label, code in d.codes]),
                                className="codes"))
    return html.Div(parts, className="feature-panel", **{"data-layer": d.layer, "data-key": d.key})
