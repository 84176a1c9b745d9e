"""The side panel's drill-down: the trail of units from the city to the one shown (breadcrumbs), what that
unit holds, and the units below it, each a link that flies the map there and selects it.

Links are buttons carrying ``data-code``, ``data-layer`` and ``data-bbox``; ``views/assets/city_map.js``
handles their clicks (it owns the map), so the panel stays plain Dash.
"""

from __future__ import annotations

from dash import html

from cim.levels import Level
from layers.spec import Details
from twin.address_search import SearchResult
from twin.drill_down import DrillView, ResidentList, Unit
from twin.unit_counts import Counts
from views.feature_panel import feature_panel

COUNT_LABELS = (("buildings", "楼栋", "Buildings"), ("residents", "实有人口", "Residents"),
                ("dwellings", "房屋", "Dwellings"), ("organisations", "单位", "Organisations"))
PLURAL = {Level.DISTRICT: "districts", Level.STREET: "streets", Level.COMMUNITY: "communities", Level.GRID: "grids",
          Level.COMPOUND: "compounds", Level.BUILDING: "buildings"}
#: Facts of a feature's details that the drill-down counts (from the tables themselves) replace.
COUNTED_FACTS = ("Buildings", "Residents", "Dwellings")


def _box(unit: Unit) -> str:
    return ",".join(f"{v:.6f}" for v in unit.bbox) if unit.bbox else ""


def link(unit: Unit, text: str, *, class_name: str = "drill-link") -> html.Button:
    return html.Button(text, className=class_name, title=f"{unit.level.label_zh} {unit.code}",
                       **{"data-code": unit.code, "data-layer": unit.layer or "", "data-bbox": _box(unit)})


def breadcrumbs(trail: tuple[Unit, ...]) -> html.Nav:
    items: list = []
    for i, unit in enumerate(trail):
        if i:
            items.append(html.Span("›", className="crumb-sep"))
        last = i == len(trail) - 1
        items.append(link(unit, unit.name, class_name="drill-link crumb" + (" current" if last else "")))
    return html.Nav(items, className="crumbs", id="drill-trail", **{"aria-label": "drill-down trail"})


def counts_table(counts: Counts) -> html.Table:
    values = counts.to_json()
    return html.Table(
        [html.Thead(html.Tr([html.Th(f"{en} {zh}") for _, zh, en in COUNT_LABELS])),
         html.Tbody(html.Tr([html.Td("—" if values[name] is None else f"{values[name]:,}",
                                            **{"data-count": name}) for name, _, _ in COUNT_LABELS]))],
        className="counts", id="drill-counts")


def codes_table(trail: tuple[Unit, ...]) -> html.Div:
    """Each level's code and name, from the city down to the unit shown."""
    rows = [html.Tr([html.Td(f"{u.level.label_zh} {u.level.name.lower()}"), html.Td(u.code, className="code"),
                     html.Td(u.name)]) for u in trail]
    return html.Div([html.H4("Codes at each level 七级编码"), html.Table(html.Tbody(rows), className="codes")],
                    id="drill-codes")


def children_list(view: DrillView) -> html.Div:
    level = view.child_level
    heading = (f"{level.label_zh} {PLURAL[level]} in {view.unit.name} "
               f"({len(view.children) + view.more_children:,})")
    # a building's own count is 1: the list of buildings shows their residents and dwellings instead
    shown = (("residents", "Residents 人口"), ("dwellings", "Dwellings 房屋")) if level is Level.BUILDING else (
        ("buildings", "Bldgs 楼栋"), ("residents", "Residents 人口"))
    rows = [html.Tr([html.Td(link(child, child.name)), html.Td(child.code, className="code"),
                     *(html.Td(f"{getattr(child.counts, name):,}") for name, _ in shown)],
                    **{"data-code": child.code})
            for child in view.children]
    parts: list = [html.H4(heading)]
    if rows:
        parts.append(html.Table([html.Thead(html.Tr([html.Th("Name 名称"), html.Th("Code 编码"),
                                                      *(html.Th(title) for _, title in shown)])),
                                 html.Tbody(rows)], className="children"))
    else:
        parts.append(html.Div("nothing below it yet", className="panel-hint"))
    if view.more_children:
        parts.append(html.Div(f"and {view.more_children:,} more (zoom in on the map to pick them)",
                              className="panel-hint"))
    return html.Div(parts, id="drill-children")


RESIDENT_COLUMNS = (("person_id", "编号", "Person"), ("age", "年龄", "Age"), ("sex", "性别", "Sex"),
                    ("phone_masked", "电话", "Phone"))


def residents_table(found: ResidentList) -> html.Div:
    """Some residents of a building (personal data: the fields come masked for viewers not cleared for them)."""
    columns = [c for c in RESIDENT_COLUMNS if c[0] in found.classes]
    rows = [html.Tr([html.Td(r.get(name) or "", **{"data-field": name}) for name, _, _ in columns])
            for r in found.rows]
    shown = f"{len(found.rows)} of {found.total:,}" if found.total > len(found.rows) else f"{found.total:,}"
    return html.Div([html.H4(f"Residents here 实有人口 ({shown})"),
                     html.Table([html.Thead(html.Tr([html.Th(f"{en} {zh}") for _, zh, en in columns])),
                                 html.Tbody(rows)], className="residents")], id="residents-list")


def drill_panel(view: DrillView, details: Details | None, residents: ResidentList | None = None) -> html.Div:
    """A unit (or building) with its trail, counts and what lies below; ``details`` when a feature was picked."""
    parts: list = [breadcrumbs(view.trail)]
    if details is not None:
        facts = tuple(f for f in details.facts if f[0].split(" ")[0] not in COUNTED_FACTS)
        parts.append(feature_panel(Details(details.layer, details.key, details.title, details.subtitle, facts)))
    else:
        parts.append(html.Div([html.H3(view.unit.name, id="feature-title"),
                               html.Div(f"{view.unit.level.label_zh} {view.unit.level.name.lower()} · "
                                        f"{view.unit.code}", className="feature-subtitle")],
                              className="feature-panel", **{"data-key": view.unit.code}))
    parts.append(counts_table(view.unit.counts))
    if view.organisations:
        parts.append(html.H4(f"Organisations here 单位 ({len(view.organisations)})"))
        parts.append(html.Ul([html.Li(f"{name} · {kind}") for name, kind in view.organisations],
                             className="organisations"))
    if residents is not None and residents.total:
        parts.append(residents_table(residents))
    if view.child_level is not None:
        parts.append(children_list(view))
    parts.append(codes_table(view.trail))
    return html.Div(parts, className="drill", **{"data-level": view.unit.level.name.lower()})


def trail_only(trail: tuple[Unit, ...], details: Details) -> html.Div:
    """A feature that is not a unit (a road, a POI, an organisation): its details under the trail of its place."""
    return html.Div([breadcrumbs(trail), feature_panel(details)], className="drill")


def search_results(result: SearchResult, bbox_of) -> html.Div:
    """What the address search found: the building it flies to, or the closest candidates to choose from."""
    if result.match is not None:
        m = result.match
        return html.Div([html.Span("Found 找到: ", className="found"), html.Span(m.text),
                         html.Span(f" ({m.rule}, {m.score:.2f})", className="hint")],
                        className="search-found", id="search-found")
    if not result.candidates:
        return html.Div(f"No standard address looks like {result.query!r}; check the district, road and door "
                        f"number", className="panel-hint", id="search-none")
    buttons = [html.Li(html.Button(c.text, className="drill-link candidate", title=f"score {c.score:.2f}",
                                   **{"data-code": c.building_code, "data-layer": "buildings",
                                      "data-bbox": bbox_of(c.building_code)}))
               for c in result.candidates]
    return html.Div([html.Div(f"No address matched well enough ({result.reason}); the closest 最接近的:",
                              className="panel-hint"), html.Ul(buttons, className="candidates")],
                    id="search-candidates")
