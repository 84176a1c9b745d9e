"""The screens, the navigation bar between them, and the page around Dash's app.

Screens are Dash pages chosen by the URL's path. The map page's map is not part of Dash's tree: it
stands in the page template (``INDEX``), so deck.gl starts drawing before Dash has booted, and it is
mounted only while the map page is shown (``views/assets/city_map.js``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape as html_escape

import dash
import flask
from dash import ClientsideFunction, Input, Output, dcc, html

from twin.permissions import ROLE_LABELS, Role
from twin.services import Services
from views import admin_page, bim_page, layers_page, map_page, overview_page
from views.access_gate import CSRF_FIELD, SIGNIN_PATH, layers_for, may_open, viewer
from views.map_state import INITIAL_VIEW, data_url, first_view, parse_state

MAP_PATH = "/"

INDEX = """<!DOCTYPE html>
<html lang="zh-CN">
<head>{%metas%}<title>{%title%}</title>{%favicon%}PRELOADS{%css%}</head>
<body>
<div id="city-map"></div>
<div id="map-legend"></div>
<div id="bim-inspector" hidden></div>
<script id="twin-map-config" type="application/json">CONFIG</script>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


@dataclass(frozen=True)
class Page:
    path: str | None  # None: a screen still to come, shown in the bar but not linked
    title_zh: str
    title_en: str
    layout: Callable[[Services], html.Div] | None = None
    coming: str = ""


PAGES: tuple[Page, ...] = (
    Page("/overview", "总览", "Overview", overview_page.layout),
    Page(MAP_PATH, "一屏统览", "Map", map_page.layout),
    Page(None, "事件", "Events", coming="arrives with the events issue (report → dispatch → closure)"),
    Page("/layers", "图层", "Layers", layers_page.layout),
    Page("/bim", "建筑模型", "BIM", bim_page.layout),
    Page("/admin", "管理", "Admin", admin_page.layout),
)


def fill_index(page: str, services: Services, path: str, args: Mapping[str, str]) -> str:
    """The page for one request: on the map page, the layer list and the first view's layers are named in it,
    so the browser fetches them while its scripts are still loading."""
    config: dict = {"view": INITIAL_VIEW, "mapPath": MAP_PATH}
    preloads = ""
    if path == MAP_PATH:
        listing = layers_for(services).listing()
        config["catalog"] = listing
        links = [data_url(layer, variant) for layer, variant in first_view(listing, parse_state(args))]
        preloads = "".join(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{html_escape(u)}">'
                           for u in links)
    return page.replace("PRELOADS", preloads).replace("CONFIG", json.dumps(config).replace("</", "<\\/"))


def nav(pathname: str | None) -> list:
    items = []
    who = viewer()
    for p in PAGES:
        text = p.title_en if p.title_zh == p.title_en else f"{p.title_zh} {p.title_en}"
        if p.path is not None and not may_open(who, p.path):
            continue  # a screen this user may not open is not offered
        if p.path is None:
            items.append(html.Span(text, className="nav-item coming", title=p.coming))
        else:
            active = " active" if pathname == p.path else ""
            items.append(dcc.Link(text, href=p.path, className="nav-item" + active))
    return items


def summary(services: Services) -> str:
    tables = services.store.manifest().tables
    shown = overview_page.RESIDENTS_CLASS  # how many residents there are is not public (a guest sees no count)
    parts = [f"{tables[k].rows:,} {label}" for k, label in
             (("buildings", "buildings"), ("residents", "residents"), ("districts", "districts"))
             if k in tables and (k != "residents" or viewer().sees(shown))]
    return " · ".join(parts) or "empty city store"


def account(services: Services) -> html.Div:
    """Who is signed in, with their roles and a sign-out button; for a guest, the guest banner."""
    who = viewer()
    if who.kind == "guest":
        return html.Div([html.Span("访客 Guest · 只读 read-only · public layers only", id="guest-banner"),
                         html.A("登录 Sign in", href=SIGNIN_PATH, id="signin-link")], className="account guest")
    roles = " · ".join(f"{ROLE_LABELS[Role(r)]} {r}" for r in sorted(who.roles))
    session = flask.g.get("session")
    token = session.csrf_token if session is not None else ""
    return html.Div([
        html.Span(who.name, id="whoami", title=roles),
        html.Span(roles, id="my-roles"),
        html.Form([dcc.Input(type="hidden", name=CSRF_FIELD, value=token),
                   html.Button("退出 Sign out", id="signout", type="submit")],
                  action="/signout", method="POST"),
    ], className="account")


def shell(services: Services) -> html.Div:
    """The layout around every screen: the top bar with the navigation, and the screen's place."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            html.Header(
                [
                    html.H1("武汉城市运行"),
                    html.Nav(nav(None), id="nav"),
                    html.Span(summary(services), id="city-summary"),
                    account(services),
                ],
                className="topbar",
            ),
            html.Div(id="screen", className="screen-wrap"),
            dcc.Store(id="routed"),
        ],
        className="page",
    )


def not_found(pathname: str) -> html.Div:
    known = ", ".join(p.path for p in PAGES if p.path)
    return html.Div([html.H2("No such screen"), html.P(f"There is no screen at {pathname}; the screens are {known}.")],
                    className="screen")


def not_permitted(pathname: str) -> html.Div:
    return html.Div([html.H2("无权访问 Not permitted"),
                     html.P(f"Your roles do not open {pathname}; ask an admin for a role that does.")],
                    className="screen", id="not-permitted")


def register_callbacks(app: dash.Dash, services: Services) -> None:
    @app.callback(Output("screen", "children"), Output("nav", "children"), Output("city-summary", "children"),
                  Input("url", "pathname"))
    def show(pathname: str | None) -> tuple:
        pathname = pathname or MAP_PATH
        if not may_open(viewer(), pathname):
            return not_permitted(pathname), nav(pathname), summary(services)
        for p in PAGES:
            if p.path == pathname and p.layout is not None:
                return p.layout(services), nav(pathname), summary(services)
        return not_found(pathname), nav(pathname), summary(services)

    app.clientside_callback(
        ClientsideFunction(namespace="twin", function_name="route"),
        Output("routed", "data"),
        Input("url", "pathname"),
    )
    map_page.register_callbacks(app, services)
    admin_page.register_callbacks(app, services)
