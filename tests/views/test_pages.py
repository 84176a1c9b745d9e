"""The screens as Dash renders them: what text each shows for the demo city."""

from __future__ import annotations

import flask
import pytest
from dash.development.base_component import Component

from tests.conftest import VIEWER_ROLES
from twin.permissions import Grant, Principal, Role
from views import admin_page, layers_page, overview_page, pages
from views.feature_panel import feature_panel


def text(component) -> str:
    """All the text a component tree shows, in order."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text(c) for c in component)
    if isinstance(component, Component):
        children = getattr(component, "children", None)
        return text(children) if children is not None else ""
    return ""


def _principal(*roles: str) -> Principal:
    return Principal(f"{'-'.join(roles) or 'guest'}", "user" if roles else "guest",
                     tuple(Grant(Role(r), department="城管委" if r == "handler" else None) for r in roles))


@pytest.fixture()
def asking():
    """Screens are drawn for whoever asks: this sets who, as the access gate does for each request."""
    app = flask.Flask("screens")
    with app.test_request_context():
        def be(*roles: str) -> Principal:
            flask.g.principal = _principal(*roles) if roles else Principal.guest()
            return flask.g.principal

        be(*VIEWER_ROLES)
        yield be


def test_the_navigation_links_the_screens_there_are_and_names_the_ones_to_come(asking):
    items = pages.nav("/layers")
    assert [text(i) for i in items] == ["总览 Overview", "一屏统览 Map", "事件 Events", "图层 Layers", "建筑模型 BIM",
                                        "管理 Admin"]
    links = [i for i in items if getattr(i, "href", None)]
    assert [i.href for i in links] == ["/overview", "/", "/layers", "/bim", "/admin"]
    assert [i.className for i in links if "active" in i.className] == ["nav-item active"]
    coming = [i for i in items if not getattr(i, "href", None)]
    assert all(i.title.startswith("arrives with") for i in coming)


def test_the_overview_counts_the_city_and_sums_it_by_district(services, asking):
    shown = text(overview_page.layout(services))
    assert "4,000 楼栋 buildings" in shown and f"{services.store.require('residents').rows:,}" in shown
    assert "江汉区 420103" in shown
    assert "population_h3" in shown and "twin demo build" in shown


def test_the_layers_screen_lists_every_layer_of_the_registry(services, asking):
    shown = text(layers_page.layout(services))
    for layer_id in services.layers.registry.ids:
        assert f" {layer_id} " in f" {shown} "
    assert "streets (24)" in shown or "streets (" in shown
    assert "from 14.5" in shown


def test_the_admin_screen_says_where_the_state_is_kept(services, asking):
    shown = text(admin_page.layout(services))
    assert "sqlite: sqlite:///" in shown and "live.db (schema 0003_one_time_passwords)" in shown
    assert "SQLite " in shown and "queue.db" in shown


@pytest.mark.parametrize(("roles", "screens"), [
    (VIEWER_ROLES, ["/overview", "/", "/layers", "/bim", "/admin"]),
    (("analyst",), ["/overview", "/", "/layers", "/bim"]),
    (("admin",), ["/overview", "/", "/layers", "/bim", "/admin"]),
    ((), ["/overview", "/", "/layers", "/bim"]),  # the guest
])
def test_the_navigation_offers_only_the_screens_the_user_may_open(asking, roles, screens):
    asking(*roles)
    assert [i.href for i in pages.nav("/") if getattr(i, "href", None)] == screens


def test_a_screen_the_user_may_not_open_says_so_in_place(asking):
    asking("analyst")
    assert text(pages.not_permitted("/admin")) == (
        "无权访问 Not permitted Your roles do not open /admin; ask an admin for a role that does.")


def test_the_top_bar_names_the_user_and_their_roles_or_shows_the_guest_banner(services, asking):
    asking("dispatcher")
    assert " ".join(text(pages.account(services)).split()) == "dispatcher 调度员 dispatcher 退出 Sign out"
    asking()
    assert text(pages.account(services)) == "访客 Guest · 只读 read-only · public layers only 登录 Sign in"


def test_an_unknown_path_names_the_screens():
    assert text(pages.not_found("/nope")) == (
        "No such screen There is no screen at /nope; the screens are /overview, /, /layers, /bim, /admin.")


def test_a_feature_panel_shows_a_buildings_details(services):
    details = services.layers.details("buildings", None, 0)
    shown = text(feature_panel(details))
    assert details.subtitle in shown and "Floors 层数" in shown and details.key in shown


def test_the_admin_screen_lists_users_and_the_audit_only_to_those_who_may(services, asking):
    from twin.permissions import Grant, Role

    if "auditor1" not in {u.name for u in services.users.list()}:
        services.users.add("auditor1", password="a long password here", grants=[Grant(Role.ADMIN)])
    services.audit.record(actor="auditor1", actor_kind="user", action="signin", ip="10.0.0.7")
    asking("admin")
    shown = text(admin_page.layout(services))
    assert "Users 用户与角色" in shown and "auditor1" in shown and "admin" in shown
    assert "Audit log 审计日志 (newest 50)" in shown and "10.0.0.7" in shown
    asking("gis_admin")  # runs jobs, but manages no users and reads no audit
    shown = text(admin_page.layout(services))
    assert "Jobs 后台任务" in shown and "Users 用户与角色" not in shown and "Audit log" not in shown
