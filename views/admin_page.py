"""The admin screen (管理): where the twin keeps its state, the background jobs, live; for those who may,
the users with their roles and the newest entries of the audit log."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from twin.jobs import Job
from twin.permissions import Action
from twin.services import Services
from views.access_gate import viewer
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


AUDIT_SHOWN = 50


def users_table(services: Services) -> html.Table:
    rows = [(u.name, u.display_name or "", " · ".join(g.describe() for g in u.grants),
             "disabled" if u.disabled else "active",
             u.last_signin_at.strftime("%Y-%m-%d %H:%M") if u.last_signin_at else "never")
            for u in services.users.list()]
    return table(["User 用户", "Name 姓名", "Roles 角色", "State", "Last sign-in"], rows, id="users-table")


def audit_table(services: Services) -> html.Table:
    rows = [(r.at.strftime("%m-%d %H:%M:%S"), r.actor, r.action, r.target[:60], r.outcome, r.ip)
            for r in services.audit.query(limit=AUDIT_SHOWN)]
    header = ["When 时间", "Who 用户", "Action 操作", "Target 对象", "Outcome", "From 来源"]
    return table(header, rows, id="audit-table")


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
            *access_sections(services),
        ],
        className="screen",
    )


def access_sections(services: Services) -> list:
    """The users and the audit log, each for the roles that may see it (the permission table decides)."""
    who = viewer()
    parts: list = []
    if who.may(Action.MANAGE_USERS):
        parts += [html.H2("Users 用户与角色"), users_table(services),
                  html.P("Add users and API tokens with twin users add / twin tokens add, or POST /api/v1/users "
                         "and /api/v1/tokens.", className="hint")]
    if who.may(Action.READ_AUDIT):
        parts += [html.H2(f"Audit log 审计日志 (newest {AUDIT_SHOWN})"), audit_table(services)]
    return parts


def register_callbacks(app: dash.Dash, services: Services) -> None:
    @app.callback(Output("jobs-box", "children"), Input("jobs-tick", "n_intervals"), prevent_initial_call=True)
    def refresh(_n: int) -> html.Table:
        return jobs_table(services)
