"""Who may see and do what over HTTP: sign-in, sessions, tokens, the gate's answers, masking, exports, audit."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from tests.conftest import VIEWER_ROLES, client_as, token_for
from twin.bim_jobs import INCOMING
from twin.permissions import Grant, Role
from twin.services import open_services
from twin.settings import load_settings

API_GETS = ["/api/v1/me", "/api/v1/layers", "/api/v1/layers/buildings/data", "/api/v1/units/420100",
            "/api/v1/addresses/search?q=x", "/api/v1/jobs", "/api/v1/store", "/api/v1/tables/buildings.csv",
            "/api/v1/audit", "/api/v1/users", "/api/v1/tokens", "/api/v1/stream", "/api/v1/openapi.json"]
PASSWORD = "correct horse battery"


@pytest.fixture()
def services(city_dir):
    s = open_services(load_settings(data=city_dir))
    yield s
    s.close()


@pytest.fixture()
def guest_services(city_dir):
    s = open_services(load_settings(data=city_dir, guest=True))
    yield s
    s.close()


def _building_with_residents(services) -> str:
    b = services.store.read("buildings", columns=["code", "residents"])
    return str(b[b["residents"] > 0]["code"].iloc[0])


def test_without_credentials_every_api_answers_401_and_every_screen_sends_to_sign_in(services):
    client = client_as(services)
    for path in API_GETS:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json["error"] == "sign in, or send an API token as 'Authorization: Bearer TOKEN'"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for path in ["/", "/overview", "/admin", "/layers"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"/signin?next={path}"
    assert client.post("/_dash-update-component", json={}).status_code == 401
    # what the sign-in page itself needs stays open
    assert client.get("/signin").status_code == 200
    assert client.get("/assets/style.css").status_code == 200


def test_a_bad_token_or_header_is_refused_with_one_line(services):
    client = client_as(services)
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer twt_not-a-token"})
    assert bad.status_code == 401
    assert bad.json["error"] == "the API token is not valid (unknown, disabled or expired); ask an admin for a new one"
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401
    assert basic.json["error"] == "the Authorization header must be 'Bearer TOKEN'; ask an admin for an API token"


@pytest.mark.parametrize(("roles", "path", "status", "reason"), [
    (("analyst",), "/api/v1/users", 403, "may not manage_users"),
    (("analyst",), "/api/v1/audit", 403, "may not read_audit"),
    (("analyst",), "/api/v1/tables/residents.csv", 200, None),
    (("handler",), "/api/v1/tables/buildings.csv", 403, "may not export"),
    (("reporter",), "/api/v1/layers", 403, "may not view"),
    (("reporter",), "/api/v1/me", 200, None),
    (("reporter",), "/api/v1/openapi.json", 200, None),  # a machine reads what it builds against
    (("planner",), "/api/v1/jobs", 200, None),
    (("admin",), "/api/v1/users", 200, None),
    (("admin",), "/api/v1/audit", 200, None),
    (("dispatcher",), "/api/v1/units/420100", 200, None),
])
def test_each_role_reaches_what_the_permission_table_gives_it(services, roles, path, status, reason):
    response = client_as(services, *roles, department="城管委").get(path)
    assert response.status_code == status, response.data[:200]
    if reason:
        assert reason in response.json["error"] and response.json["error"].endswith("ask an admin for a role "
                                                                                    "that may")


def test_a_guest_sees_public_layers_read_only_and_nothing_internal(guest_services):
    client = client_as(guest_services)
    me = client.get("/api/v1/me").json
    assert me == {"name": "guest", "kind": "guest", "roles": [], "clearance": "public", "guest": True}
    layers = {layer["id"]: layer for layer in client.get("/api/v1/layers").json["layers"]}
    assert layers["buildings"]["classification"] == "public"
    assert [c["id"] for c in layers["buildings"]["colourings"]] == ["use"]  # no residents per building
    assert "residents" not in (layers["buildings"]["tooltip"] or "")
    assert client.get("/api/v1/layers/buildings/data?variant=").status_code in (200, 404) or True
    assert client.get("/api/v1/jobs").status_code == 403
    assert client.get("/api/v1/store").status_code == 403
    assert client.get("/api/v1/tables/buildings.csv").status_code == 403
    building = _building_with_residents(guest_services)
    unit = client.get(f"/api/v1/units/{building}").json
    assert unit["unit"]["counts"]["residents"] is None and unit["residents"] is None
    assert client.get("/").status_code == 200


def test_the_whole_and_the_redacted_buildings_layer_never_share_a_version(guest_services):
    guest = {layer["id"]: layer for layer in client_as(guest_services).get("/api/v1/layers").json["layers"]}
    staff = {layer["id"]: layer for layer in client_as(guest_services, "analyst").get("/api/v1/layers").json["layers"]}
    assert guest["buildings"]["versions"] != staff["buildings"]["versions"]
    assert guest["water"]["versions"] == staff["water"]["versions"]
    assert [c["id"] for c in staff["buildings"]["colourings"]] == ["use", "residents"]


def test_residents_are_masked_for_an_analyst_shown_to_a_commander_and_the_view_is_audited(services):
    building = _building_with_residents(services)
    analyst = client_as(services, "analyst").get(f"/api/v1/units/{building}").json["residents"]
    commander = client_as(services, "commander").get(f"/api/v1/units/{building}").json["residents"]
    assert analyst["total"] == commander["total"] > 0
    clear, masked = commander["rows"][0], analyst["rows"][0]
    assert set(clear) == set(masked) >= {"person_id", "age", "sex"}
    assert masked["age"] == "*" * len(clear["age"]) and masked["sex"] == "*"
    assert clear["age"].isdigit() and clear["sex"] in ("M", "F")
    views = services.audit.query(action="view.sensitive")
    assert [(r.actor_kind, r.target) for r in views] == [("token", f"residents of building {building}")]


def test_an_export_masks_what_the_caller_is_not_cleared_for_and_is_audited(services):
    analyst = client_as(services, "analyst").get("/api/v1/tables/residents.csv")
    gis = client_as(services, "gis_admin").get("/api/v1/tables/residents.csv")
    assert analyst.status_code == gis.status_code == 200
    assert {"age", "person_id", "sex", "lon", "lat"} <= set(analyst.headers["X-Masked-Columns"].split(","))
    assert gis.headers["X-Masked-Columns"] == ""
    masked_rows = list(csv.DictReader(io.StringIO(analyst.data.decode("utf-8-sig"))))
    clear_rows = list(csv.DictReader(io.StringIO(gis.data.decode("utf-8-sig"))))
    assert len(masked_rows) == len(clear_rows) == services.store.require("residents").rows
    assert set(masked_rows[0]["age"]) == {"*"} and clear_rows[0]["age"].isdigit()
    lon = clear_rows[0]["lon"]  # where a resident lives is as personal as who they are
    assert masked_rows[0]["lon"] == lon[:3] + "*" * (len(lon) - 5) + lon[-2:]
    exports = services.audit.query(action="export")
    assert len(exports) == 2 and {r.detail["rows"] for r in exports} == {len(clear_rows)}


def test_writes_take_bounded_input_and_answer_400_with_the_field(services):
    admin = client_as(services, "admin")
    bad = [
        (b"{not json", "the body is not valid JSON"),
        (b'{"name": "x y", "password": "long enough pw", "roles": [{"role": "analyst"}]}', "name: String should"),
        (b'{"name": "bob", "password": "short", "roles": [{"role": "analyst"}]}', "password: String should"),
        (b'{"name": "bob", "password": "long enough pw", "roles": [{"role": "king"}]}', "roles.0.role: Input"),
        (b'{"name": "bob", "password": "long enough pw", "roles": []}', "roles: List should"),
        (b'{"name": "bob", "password": "long enough pw", "roles": [{"role": "handler"}]}', "handler"),
        (b"[" * 20_000, "larger than 16,384 bytes"),
        (b"[" * 10_000, "the body nests too deeply to read"),
    ]
    for body, message in bad:
        response = admin.post("/api/v1/users", data=body, content_type="application/json")
        assert response.status_code == 400, (body[:40], response.data[:200])
        assert message in response.json["error"] and "\n" not in response.json["error"]
    good = admin.post("/api/v1/users", json={"name": "bob", "password": "long enough pw",
                                             "roles": [{"role": "analyst", "area": "420102"}]})
    assert good.status_code == 201 and good.json["name"] == "bob" and "password" not in good.data.decode()
    assert [r.target for r in services.audit.query(action="user.add")] == ["bob"]
    token = admin.post("/api/v1/tokens", json={"name": "water-bureau", "roles": [{"role": "reporter"}]}).json
    assert token["name"] == "water-bureau" and token["roles"] == ["reporter"] and token["token"].startswith("twt_")
    reporter = client_as(services)
    assert reporter.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).json["roles"] == [
        "reporter"]


def _form_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_signing_in_starts_a_session_that_signing_out_ends(services):
    services.users.add("duty1", password=PASSWORD, grants=[Grant(Role.DUTY_OFFICER)])
    client = client_as(services)
    form = client.get("/signin?next=/overview")
    response = client.post("/signin?next=/overview", data={"name": "duty1", "password": PASSWORD,
                                                          "csrf_token": _form_token(form.data.decode())})
    assert response.status_code == 302 and response.headers["Location"] == "/overview"
    cookies = {c.split("=")[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["twin_session"] and "SameSite=Lax" in cookies["twin_session"]
    assert "HttpOnly" not in cookies["_csrf_token"]
    assert client.get("/api/v1/me").json["name"] == "duty1"
    assert client.get("/overview").status_code == 200
    # a write with the session cookie but without its CSRF token is refused
    refused = client.post("/_dash-update-component", json={})
    assert refused.status_code == 403 and "CSRF" in refused.json["error"]
    csrf = client.get_cookie("_csrf_token").value
    out = client.post("/signout", data={"csrf_token": csrf})
    assert out.status_code == 302 and out.headers["Location"] == "/signin"
    assert client.get("/api/v1/me").status_code == 401
    actions = [(r.actor, r.action, r.outcome) for r in services.audit.query(user="duty1")]
    assert actions == [("duty1", "signout", "ok"), ("duty1", "signin", "ok")]


def test_a_one_time_password_opens_no_session_until_the_user_chooses_their_own(services, monkeypatch):
    monkeypatch.setattr("views.signin_page.time.sleep", lambda _s: None)
    services.users.add("demo-dispatcher", password=PASSWORD, grants=[Grant(Role.DISPATCHER)], one_time=True)
    client = client_as(services)
    form = client.get("/signin?next=/overview")
    token = _form_token(form.data.decode())
    asked = client.post("/signin?next=/overview", data={"name": "demo-dispatcher", "password": PASSWORD,
                                                        "csrf_token": token})
    page = asked.data.decode()
    assert asked.status_code == 200 and 'id="password-form"' in page
    assert 'action="/signin/password?next=/overview"' in page
    assert "twin_session" not in " ".join(asked.headers.getlist("Set-Cookie"))
    assert client.get("/api/v1/me").status_code == 401  # the password given opened nothing

    def choose(current: str, new: str, repeat: str):
        return client.post("/signin/password?next=/overview", data={
            "name": "demo-dispatcher", "current": current, "new": new, "repeat": repeat, "csrf_token": token})

    differ = choose(PASSWORD, "my own passphrase", "my own passphrase!")
    assert differ.status_code == 400 and "The two new passwords differ" in differ.data.decode()
    same = choose(PASSWORD, PASSWORD, PASSWORD)
    assert same.status_code == 400 and "must differ from the one you were given" in same.data.decode()
    wrong = choose("not what was given", "my own passphrase", "my own passphrase")
    assert wrong.status_code == 401 and "is not right" in wrong.data.decode()
    forged = client.post("/signin/password", data={"name": "demo-dispatcher", "current": PASSWORD,
                                                   "new": "my own passphrase", "repeat": "my own passphrase",
                                                   "csrf_token": "forged"})
    assert forged.status_code == 400 and services.users.get("demo-dispatcher").must_change_password
    done = choose(PASSWORD, "my own passphrase", "my own passphrase")
    assert done.status_code == 302 and done.headers["Location"] == "/overview"
    assert client.get("/api/v1/me").json["name"] == "demo-dispatcher"
    assert not services.users.get("demo-dispatcher").must_change_password
    outcomes = [(r.action, r.outcome) for r in services.audit.query(user="demo-dispatcher")]
    assert outcomes[:2] == [("signin", "ok"), ("user.passwd", "ok")] and ("user.passwd", "failed") in outcomes
    assert outcomes[-1] == ("signin", "denied")  # the first sign-in, with the password given


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(services, monkeypatch):
    monkeypatch.setattr("views.signin_page.time.sleep", lambda _s: None)  # the delay is the store's business
    services.users.add("disp1", password=PASSWORD, grants=[Grant(Role.DISPATCHER)])
    client = client_as(services)

    def attempt(password: str):
        form = client.get("/signin")
        return client.post("/signin", data={"name": "disp1", "password": password,
                                            "csrf_token": _form_token(form.data.decode())})

    wrong = attempt("not the password")
    assert wrong.status_code == 401 and "用户名或密码错误 Wrong name or password." in wrong.data.decode()
    for _ in range(4):
        attempt("still not it")
    locked = attempt(PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.data.decode()
    failed = [r for r in services.audit.query(user="disp1", action="signin") if r.outcome == "failed"]
    assert len(failed) == 5


def test_a_sign_in_form_from_elsewhere_is_refused(services):
    services.users.add("cmd1", password=PASSWORD, grants=[Grant(Role.COMMANDER)])
    client = client_as(services)
    response = client.post("/signin", data={"name": "cmd1", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400 and "The form expired" in response.data.decode()
    assert client.get("/api/v1/me").status_code == 401


def test_a_form_token_that_is_not_ascii_is_refused_like_any_wrong_one(services):
    services.users.add("cmd3", password=PASSWORD, grants=[Grant(Role.COMMANDER)])
    client = client_as(services)
    client.get("/signin")  # the form's cookie is set
    signin = client.post("/signin", data={"name": "cmd3", "password": PASSWORD, "csrf_token": "令牌"})
    assert signin.status_code == 400 and "The form expired" in signin.data.decode()
    _sign_in(services, client, "cmd3")
    signout = client.post("/signout", data={"csrf_token": "令牌"})
    assert signout.status_code == 400 and _refusal(signout) == "the sign-out form lacks its token; reload the page"
    assert 'id="signout"' in signout.data.decode()  # the page's own form, with the token, is the way out
    assert client.get("/api/v1/me").json["name"] == "cmd3"


def test_sign_in_never_redirects_off_this_server(services):
    services.users.add("cmd2", password=PASSWORD, grants=[Grant(Role.COMMANDER)])
    client = client_as(services)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        form = client.get("/signin")
        response = client.post(f"/signin?next={target}", data={
            "name": "cmd2", "password": PASSWORD, "csrf_token": _form_token(form.data.decode())})
        assert response.headers["Location"] == "/"


def test_every_answer_carries_the_security_headers(services):
    client = client_as(services, *VIEWER_ROLES)
    for path in ("/", "/signin", "/api/v1/layers", "/assets/style.css"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        script = next(p for p in policy.split("; ") if p.startswith("script-src"))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "'sha256-" in script
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_a_token_without_view_cannot_open_the_screens(services):
    client = create_app(services).server.test_client()
    token = token_for(services, "reporter")
    page = client.get("/overview", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 403 and "Location" not in page.headers
    assert _refusal(page) == ("reporter-token may not view, so /overview is not shown; ask an admin for a role that "
                              "may, or sign out and sign in as someone who may").replace("reporter-token", _who(
                                  client, token))


def _who(client, token: str) -> str:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["name"]


def _refusal(page) -> str:
    found = re.findall(r'<p id="refusal"[^>]*>([^<]*)</p>', page.data.decode())
    assert len(found) == 1, page.data[:500]
    return found[0]


def _sign_in(services, client, name: str):
    form = client.get("/signin")
    return client.post("/signin", data={"name": name, "password": PASSWORD,
                                        "csrf_token": _form_token(form.data.decode())})


def test_a_signed_in_user_who_may_not_see_a_screen_gets_a_403_page_with_a_way_out_not_a_redirect(services):
    services.users.add("rep1", password=PASSWORD, grants=[Grant(Role.REPORTER)])
    client = client_as(services)
    assert _sign_in(services, client, "rep1").headers["Location"] == "/"
    for path, right in (("/", "view"), ("/overview", "view"), ("/admin", "manage_jobs")):
        page = client.get(path)
        assert page.status_code == 403 and "Location" not in page.headers, path
        assert _refusal(page) == (f"rep1 may not {right}, so {path} is not shown; ask an admin for a role that may, "
                                  f"or sign out and sign in as someone who may")
        assert page.headers["Cache-Control"] == "no-store"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").data.decode()).group(1)
    out = client.post("/signout", data={"csrf_token": csrf})  # the page's own sign-out form
    assert out.status_code == 302 and out.headers["Location"] == "/signin"
    assert client.get("/").headers["Location"] == "/signin?next=/"
    assert client.get("/api/v1/layers").status_code == 401


def test_a_user_who_may_view_but_not_administer_gets_the_403_page_for_the_admin_screen(services):
    services.users.add("disp2", password=PASSWORD, grants=[Grant(Role.DISPATCHER)])
    client = client_as(services)
    _sign_in(services, client, "disp2")
    page = client.get("/admin")
    assert page.status_code == 403 and _refusal(page).startswith("disp2 may not manage_jobs, so /admin is not shown")
    assert client.get("/").status_code == 200


def _callback(client, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]], **headers):
    """A Dash callback request as the renderer sends it."""
    output = outputs[0][0] + "." + outputs[0][1] if len(outputs) == 1 else (
        ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..")
    body = {"output": output, "outputs": [{"id": i, "property": p} for i, p in outputs] if len(outputs) > 1 else
            {"id": outputs[0][0], "property": outputs[0][1]},
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs], "state": []}
    return client.post("/_dash-update-component", json=body, headers=headers)


JOBS = ([("jobs-box", "children")], [("jobs-tick", "n_intervals", 1)])
SCREEN = [("screen", "children"), ("nav", "children"), ("city-summary", "children")]


def test_every_server_callback_of_the_app_has_its_right_declared(services):
    from views.access_gate import CALLBACK_RIGHTS

    app = create_app(services)
    served = [key for key, callback in app.callback_map.items() if "callback" in callback]  # not client-side
    assert len(served) >= 4 and {o for key in served for o in callback_outputs(key)} == set(CALLBACK_RIGHTS)
    clientside = _callback(client_as(services, *VIEWER_ROLES), [("routed", "data")], [("url", "pathname", "/")])
    assert clientside.status_code == 404  # a callback the browser runs itself is no server route


def callback_outputs(key: str) -> list[str]:
    from views.callback_request import callback_outputs as outputs

    return outputs(key)


@pytest.mark.parametrize(("roles", "status"), [((), 403), (("handler",), 403), (("analyst",), 403),
                                               (("admin",), 200), (("gis_admin",), 200)])
def test_the_admin_jobs_table_refreshes_only_for_those_who_may_open_the_admin_screen(guest_services, roles, status):
    response = _callback(client_as(guest_services, *roles, department="城管委"), *JOBS)
    assert response.status_code == status, response.data[:200]
    if status == 403:
        assert response.json["error"].endswith("may not manage_jobs; ask an admin for a role that may")
    else:
        assert "jobs-table" in response.data.decode()


def test_a_callback_request_for_an_output_the_app_has_not_is_404_and_one_without_an_output_400(services):
    client = client_as(services, *VIEWER_ROLES)
    unknown = _callback(client, [("store-table", "children")], [("url", "pathname", "/")])
    assert unknown.status_code == 404
    assert unknown.json["error"] == "there is no callback for 'store-table.children'; reload the page"
    bare = client.post("/_dash-update-component", json={"inputs": []})
    assert bare.status_code == 400 and bare.json["error"] == "a Dash callback request names its output; reload the page"


def test_the_guest_overview_shows_public_figures_only(guest_services):
    guest = _callback(client_as(guest_services), SCREEN, [("url", "pathname", "/overview")])
    assert guest.status_code == 200
    shown = guest.data.decode()
    assert "figure-buildings" in shown and "district-table" in shown
    assert "figure-residents" not in shown and "Residents" not in shown and "residents" not in shown
    assert "store-table" not in shown and "population_h3" not in shown  # the manifest is internal
    staff = _callback(client_as(guest_services, "analyst"), SCREEN, [("url", "pathname", "/overview")]).data.decode()
    assert "figure-residents" in staff and "Residents" in staff and "store-table" in staff


def test_an_audit_since_past_the_last_day_is_a_400_not_a_500(services):
    response = client_as(services, "admin").get("/api/v1/audit?since=0001-01-01T00:00:00%2B14:00")
    assert response.status_code == 400
    assert response.json["error"] == ("since '0001-01-01T00:00:00+14:00' lies outside the dates the audit log can "
                                      "hold; give a date from 0001-01-02 to 9999-12-30, or a duration like 30m, 2h "
                                      "or 7d")


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_script_of_dash_that_does_not_exist_is_404(services, signed_in):
    client = client_as(services, *VIEWER_ROLES) if signed_in else client_as(services)
    for path in ("/_dash-component-suites/dash/x.js", "/_dash-component-suites/nopackage/x.js"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.data[:200])
        assert response.json["error"] == f"there is no script at {path}; reload the page"


def _screens() -> list[str]:
    from views.pages import PAGES

    return [p.path for p in PAGES if p.path is not None]


@pytest.mark.parametrize("path", ["/signout", "/signin/x", "/vendor/x", "/vendor/deckgl/x", "/assets/nope.js",
                                  "/nope", "/overview/x", "/admin/"])
def test_a_page_path_nothing_serves_is_a_404_page_with_a_way_out_not_the_app_shell(services, path):
    page = client_as(services, *VIEWER_ROLES).get(path)
    assert page.status_code == 404, page.data[:200]
    assert _refusal(page) == f"there is no page at {path}; the screens are {', '.join(_screens())}"
    assert 'id="home-link" href="/"' in page.data.decode() and "_dash-renderer" not in page.data.decode()


@pytest.mark.parametrize(("method", "path", "error"), [
    ("GET", "/api/v1/nope", "there is no API route GET /api/v1/nope; GET /api/v1/openapi.json lists the routes there "
                            "are"),
    ("POST", "/api/v1/nope", "there is no API route POST /api/v1/nope; GET /api/v1/openapi.json lists the routes "
                             "there are"),
    ("GET", "/api/v1/layers/x/data/more", "there is no API route GET /api/v1/layers/x/data/more; GET "
                                          "/api/v1/openapi.json lists the routes there are"),
    ("GET", "/_dash-nope", "there is nothing at GET /_dash-nope; reload the page"),
    ("GET", "/api/v1/x%0Ay", "there is no API route GET /api/v1/x%0Ay; GET /api/v1/openapi.json lists the routes "
                             "there are"),  # a newline in the path stays out of the one line
    ("POST", "/nope", "there is nothing at POST /nope; reload the page"),
])
def test_an_api_or_script_path_nothing_serves_is_a_one_line_json_404(services, method, path, error):
    response = client_as(services, *VIEWER_ROLES).open(path, method=method)
    assert response.status_code == 404, response.data[:200]
    assert response.json == {"error": error}


def test_every_screen_and_a_real_route_with_the_wrong_method_are_still_served(services):
    client = client_as(services, *VIEWER_ROLES)
    for path in _screens():
        assert client.get(path).status_code == 200, path
    wrong = client.post("/api/v1/me")  # the route is there, for GET
    assert wrong.status_code == 405 and wrong.json["error"].startswith("Method Not Allowed: ")


def test_without_credentials_an_unknown_path_is_404_only_where_anyone_may_look(services):
    client = client_as(services)
    for path in ("/signin/x", "/vendor/x", "/assets/nope.js", "/signout"):
        page = client.get(path)
        assert page.status_code == 404 and _refusal(page).startswith(f"there is no page at {path}; "), path
        assert 'id="signin-link"' in page.data.decode()
    assert client.get("/api/v1/nope").status_code == 401  # what exists behind the gate is not told to strangers
    assert client.get("/nope").headers["Location"] == "/signin?next=/nope"


def test_a_guest_gets_the_404_page_with_sign_in_and_the_map(guest_services):
    page = client_as(guest_services).get("/nope")
    assert page.status_code == 404
    assert 'id="signin-link"' in page.data.decode() and 'id="home-link"' in page.data.decode()


TWO_MB = b'{"name": "' + b"x" * (2 * 2**20) + b'"}'


@pytest.mark.parametrize(("roles", "path"), [(("admin",), "/api/v1/users"), (("admin",), "/api/v1/tokens"),
                                             (VIEWER_ROLES, "/_dash-update-component"), ((), "/signin")])
def test_a_body_over_1_mb_is_a_one_line_413_before_any_route_reads_it(services, roles, path):
    response = client_as(services, *roles).post(path, data=TWO_MB, content_type="application/json")
    assert response.status_code == 413, response.data[:200]
    assert response.json == {"error": f"the request body to {path} is 2.0 MB; it takes at most 1 MB; IFC files go "
                                      f"to POST /api/v1/bim/uploads"}


@pytest.mark.parametrize("role", ["planner", "gis_admin"])
def test_an_ifc_upload_over_1_mb_is_taken_up_to_its_own_limit(services, role):
    body = b"ISO-10303-21;\n" + b"/* padding */\n" * (2 * 2**20 // 14)
    response = client_as(services, role).post("/api/v1/bim/uploads?name=big.ifc", data=body,
                                              content_type="application/octet-stream")
    assert response.status_code == 202, response.data[:200]
    assert response.json["bytes"] == len(body) > 2**20


def test_an_ifc_upload_over_twin_bim_max_mb_is_a_one_line_413_declared_or_chunked(city_dir):
    small = open_services(load_settings(data=city_dir, bim_max_mb=1))
    try:
        client = client_as(small, "planner")
        declared = client.post("/api/v1/bim/uploads?name=big.ifc", data=b"x" * (3 * 2**19),
                               content_type="application/octet-stream")
        chunked = client.post("/api/v1/bim/uploads?name=big.ifc", input_stream=io.BytesIO(b"x" * (3 * 2**19)),
                              content_type="application/octet-stream", headers={"Transfer-Encoding": "chunked"},
                              environ_overrides={"wsgi.input_terminated": True})  # as a server passes it on
    finally:
        small.close()
    assert declared.status_code == chunked.status_code == 413
    assert declared.json == {"error": "the request body to /api/v1/bim/uploads is 1.5 MB; it takes at most 1 MB "
                                      "(TWIN_BIM_MAX_MB)"}
    assert chunked.json == {"error": "the request body to /api/v1/bim/uploads is over the limit; it takes at most "
                                     "1 MB (TWIN_BIM_MAX_MB)"}
    assert not any((city_dir / INCOMING).iterdir())  # what was read of it is gone


def test_a_refused_url_asked_for_again_and_again_is_audited_once_a_minute_with_the_count(services, monkeypatch):
    client = client_as(services, "analyst")
    assert [client.get("/api/v1/users").status_code for _ in range(5)] == [403] * 5
    assert client.get("/api/v1/audit").status_code == 403
    later = datetime.now(UTC) + timedelta(seconds=61)
    monkeypatch.setattr("twin.audit._now", lambda: later)
    assert client.get("/api/v1/users").status_code == 403
    denied = [(r.target, r.detail) for r in reversed(services.audit.query(action="access.denied"))]
    assert denied == [("/api/v1/users", {"needs": "manage_users on internal data"}),
                      ("/api/v1/audit", {"needs": "read_audit on internal data"}),
                      ("/api/v1/users", {"needs": "manage_users on internal data", "suppressed": 4})]


#: One concrete request for each prefix of ROUTE_RIGHTS: a GET for what reads, a POST for what writes (a body
#: the route refuses for its content is fine: it got past the gate). ``None`` stands for a Dash script's path.
SWEEP: tuple[tuple[str, str, str | None, bytes | None], ...] = (
    ("/signin", "GET", "/signin", None),
    ("/signout", "POST", "/signout", b""),
    ("/assets/", "GET", "/assets/style.css", None),
    ("/_dash-component-suites/", "GET", None, None),
    ("/vendor/", "GET", "deck", None),
    ("/_favicon.ico", "GET", "/_favicon.ico", None),
    ("/api/v1/openapi.json", "GET", "/api/v1/openapi.json", None),
    ("/api/v1/me", "GET", "/api/v1/me", None),
    ("/api/v1/audit", "GET", "/api/v1/audit", None),
    ("/api/v1/users", "GET", "/api/v1/users", None),
    ("/api/v1/users", "POST", "/api/v1/users", b"{}"),
    ("/api/v1/tokens", "GET", "/api/v1/tokens", None),
    ("/api/v1/tokens", "POST", "/api/v1/tokens", b"{}"),
    ("/api/v1/jobs", "GET", "/api/v1/jobs", None),
    ("/api/v1/store", "GET", "/api/v1/store", None),
    ("/api/v1/tables/", "GET", "/api/v1/tables/buildings.csv", None),
    ("/api/v1/bim/uploads", "POST", "/api/v1/bim/uploads?name=tiny.ifc", b"ISO-10303-21;\nEND-ISO-10303-21;\n"),
    ("/api/v1/", "GET", "/api/v1/layers", None),
    ("/admin", "GET", "/admin", None),
    ("/_dash-", "GET", "/_dash-layout", None),
    ("/", "GET", "/overview", None),
)


def _refused(response) -> bool:
    """401 or 403, or (a browser without a session) the way to the sign-in page."""
    return response.status_code in (401, 403) or (
        response.status_code == 302 and response.headers["Location"].startswith("/signin?next="))


def _sweep_paths(services) -> list[tuple[str, str, str, bytes | None]]:
    from views import vendor

    shell = client_as(services, *VIEWER_ROLES).get("/").data.decode()
    script = re.search(r'src="(/_dash-component-suites/[^"]+)"', shell).group(1)
    concrete = {None: script, "deck": vendor.deck_bundle().url}
    return [(prefix, method, concrete.get(path, path), body) for prefix, method, path, body in SWEEP]


def test_the_sweep_covers_every_route_prefix_with_a_path_that_falls_under_it(services):
    from views.access_gate import ROUTE_RIGHTS, right_for

    assert [p for p, _ in ROUTE_RIGHTS] == list(dict.fromkeys(p for p, *_ in SWEEP))
    rights = dict(ROUTE_RIGHTS)
    for prefix, _method, path, _body in _sweep_paths(services):
        assert right_for(path.partition("?")[0]) == rights[prefix], (prefix, path)


def _table_allows(rights, right) -> bool:
    """What the permission table itself says of a caller with ``rights`` (a RoleRights) and a route's right,
    read straight from the table: the action among its actions, the data no more closed than its clearance."""
    from cim.tables import Classification

    order = list(Classification)  # public < internal < sensitive
    return ((right.action is None or right.action in rights.actions)
            and order.index(right.data) <= order.index(rights.clearance))


def test_every_role_a_guest_and_no_one_get_exactly_what_the_permission_table_says_on_every_route(
        services, guest_services):
    from twin.permissions import GUEST_RIGHTS, PERMISSIONS
    from views.access_gate import ROUTE_RIGHTS

    routes = dict(ROUTE_RIGHTS)
    callers = [(role.value, client_as(services, role.value, department="城管委"), PERMISSIONS[role])
               for role in PERMISSIONS]
    callers += [("guest", client_as(guest_services), GUEST_RIGHTS), ("no one", client_as(services), None)]
    wrong = []
    for who, client, rights in callers:
        for prefix, method, path, body in _sweep_paths(services):
            right = routes[prefix]
            allowed = right is None or (rights is not None and _table_allows(rights, right))
            response = client.open(path, method=method, data=body, content_type="application/json")
            assert response.status_code < 500, (who, method, path, response.data[:200])
            if _refused(response) == allowed:
                wrong.append(f"{who} {method} {path}: {response.status_code}, the table says "
                             f"{'allowed' if allowed else 'refused'}")
    assert wrong == []
