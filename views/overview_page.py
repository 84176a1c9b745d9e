"""The overview (总览): the city in figures, by district, and what the store holds, each as far as the viewer
may see it: a guest sees public figures only (no residents), and the store's manifest is for those who may
read ``/api/v1/store``."""

from __future__ import annotations

from dash import html

from cim.levels import Level
from cim.tables import Classification, kind_of
from layers.rollup import roll_up
from twin.services import Services
from views.access_gate import may_open, viewer
from views.tables import table

COUNTED = (("districts", "区 districts"), ("streets", "街道 streets"), ("communities", "社区 communities"),
           ("grids", "网格 grids"), ("compounds", "小区 compounds"), ("buildings", "楼栋 buildings"),
           ("residents", "实有人口 residents"))
#: The class of each figure: how many residents there are is the sum of the buildings' (internal) residents.
RESIDENTS_CLASS = kind_of("buildings").class_of("residents")


def _figure_class(kind: str) -> Classification:
    return RESIDENTS_CLASS if kind == "residents" else kind_of(kind).classification


def layout(services: Services) -> html.Div:
    who = viewer()
    manifest = services.store.manifest()
    figures = [
        html.Div([html.Div(f"{manifest.tables[k].rows:,}" if k in manifest.tables else "–", className="figure"),
                  html.Div(label, className="figure-label")], className="tile", id=f"figure-{k}")
        for k, label in COUNTED if who.sees(_figure_class(k))
    ]
    residents = who.sees(RESIDENTS_CLASS)
    parts: list = [html.H2("City figures 城市概况"), html.Div(figures, className="tiles")]
    if "buildings" in manifest.tables and "districts" in manifest.tables:
        t = services.layers.tables(("buildings", "districts"), manifest)
        totals = roll_up(t["buildings"], Level.DISTRICT,
                         {"buildings": "count", "residents": "sum", "dwellings": "sum", "floors": "mean"})
        names = dict(zip(t["districts"]["code"].astype(str), t["districts"]["name"].astype(str), strict=True))
        rows = [
            (names.get(str(r.district_code), "?"), str(r.district_code), f"{int(r.buildings):,}",
             *((f"{int(r.residents):,}",) if residents else ()), f"{int(r.dwellings):,}", f"{r.floors:.1f}")
            for r in totals.itertuples()
        ]
        header = ["District 区", "Code 代码", "Buildings 楼栋", *(["Residents 人口"] if residents else []),
                  "Dwellings 房屋", "Mean floors 平均层数"]
        parts += [html.H2("By district 分区统计"),
                  table(header, rows, id="district-table", numeric=tuple(range(2, len(header))))]
    if may_open(who, "/api/v1/store"):  # the manifest is internal: what the API's /store gives
        rows = [(kind, e.classification, f"{e.rows:,}", e.written_at.strftime("%Y-%m-%d %H:%M:%S UTC"), e.writer,
                 "; ".join(s.note or s.file for s in e.sources[-2:]))
                for kind, e in sorted(manifest.tables.items())]
        parts += [html.H2(f"In the store 数据仓 (generation {manifest.generation})"),
                  table(["Table", "Class", "Rows", "Written", "By", "Sources"], rows, id="store-table",
                        numeric=(2,))]
    return html.Div(parts, className="screen")
