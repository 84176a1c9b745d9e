"""The admin screen (管理): where the twin keeps its state, and the background jobs, live."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from twin.jobs import Job
from twin.services import Services
from views.tables import table


def _job_rows(jobs: list[Job]) -> list[tuple]:
    rows = []
    for j in jobs:
        bar = html.Div(html.Div(style={"width": f"{100 * j.progress:.0f}%"}, className="bar-fill"), className="bar")
        rows.append((j.created_at.strftime("%H:%M:%S"), j.title, j.status, bar, f"{100 * j.progress:.0f}%",
                     j.error or j.message, f"{j.attempts}/{j.max_attempts}", j.id[:8]))
    return rows


def jobs_table(services: Services) -> html.Table:
    return table(["Created", "Job", "Status", "Progress", "", "Message", "Attempts", "Id"],
                 _job_rows(services.jobs.recent(30)), id="jobs-table", numeric=(4,))


def layout(services: Services) -> html.Div:
    s = services
    facts = [
        ("City store 数据仓", str(s.store.folder.resolve())),
        ("Store generation", str(s.store.generation)),
        ("Live state 实时状态库", f"{s.live.backend}: {s.live.describe()} (schema {s.live.revision()})"),
        ("Job queue 任务队列", s.queue.describe()),
        ("Workers", "in this server process" if s.worker is not None else "separate processes (twin worker)"),
    ]
    return html.Div(
        [
            html.H2("Where the twin keeps its state"),
            html.Dl([item for k, v in facts for item in (html.Dt(k), html.Dd(v))], className="facts"),
            html.H2("Jobs 后台任务"),
            html.Div(jobs_table(services), id="jobs-box"),
            dcc.Interval(id="jobs-tick", interval=1000),
        ],
        className="screen",
    )


def register_callbacks(app: dash.Dash, services: Services) -> None:
    @app.callback(Output("jobs-box", "children"), Input("jobs-tick", "n_intervals"), prevent_initial_call=True)
    def refresh(_n: int) -> html.Table:
        return jobs_table(services)
