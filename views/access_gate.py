"""Who is asking, and may they: the one place where every request is checked.

Each request is identified once, before any route runs: by an API token (``Authorization: Bearer``), by a
signed-in session (the ``twin_session`` cookie), or, on a server started with ``--guest``, as the guest.
Then the right its route needs, looked up in :data:`ROUTE_RIGHTS`, is checked against the permission table
(``twin.permissions``). Routes never check rights themselves. A browser without a session is sent to the
sign-in page; an API call without credentials gets 401, and one without the right 403, each with one line.
Each refusal of a known caller is audited (``access.denied``), once a minute per caller, address, path and
right: the refusals held back in between are counted into the next record.

Writes made with a session cookie carry the session's CSRF token: Dash's renderer sends the ``_csrf_token``
cookie back as the ``X-CSRFToken`` header, and forms carry it as a field. Every answer gets the security
headers (a content security policy allowing only this origin, no framing, no sniffing).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from html import escape
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cim.tables import Classification
from twin.audit import AuditThrottle
from twin.layer_service import LayerService
from twin.permissions import AccessDenied, Action, NotSignedIn, Principal
from twin.services import Services
from views.callback_request import BadCallbackRequest, callback_for, check, read_body, server_callbacks

SESSION_COOKIE = "twin_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads and sends back as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SIGNIN_PATH = "/signin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_MB = 1  # a form, a JSON body or a Dash callback; IFC uploads take their own limit (TWIN_BIM_MAX_MB)
UPLOAD_PATH = "/api/v1/bim/uploads"


@dataclass(frozen=True)
class Right:
    """What a route takes: an action from the permission table (None: any signed-in user, token or guest)
    and the class of the data it answers with."""

    action: Action | None
    data: Classification = Classification.PUBLIC

    def allows(self, principal: Principal) -> bool:
        return (self.action is None or principal.may(self.action)) and principal.sees(self.data)

    def reason(self, principal: Principal) -> str:
        if self.action is not None and not principal.may(self.action):
            return f"{principal.name} may not {self.action}"
        return f"{principal.name} is not cleared for {self.data} data"


OPEN = None  # a route anyone may reach, signed in or not
VIEW = Right(Action.VIEW)
INTERNAL_VIEW = Right(Action.VIEW, Classification.INTERNAL)  # the jobs and the store's manifest
ADMIN_SCREEN = Right(Action.MANAGE_JOBS, Classification.INTERNAL)

#: Every route, by path prefix: the first prefix that matches decides. A path no prefix matches is refused.
ROUTE_RIGHTS: tuple[tuple[str, Right | None], ...] = (
    (SIGNIN_PATH, OPEN),
    ("/signout", OPEN),
    ("/assets/", OPEN),  # our stylesheet and scripts
    ("/_dash-component-suites/", OPEN),  # Dash's own scripts
    ("/vendor/", OPEN),  # deck.gl
    ("/_favicon.ico", OPEN),
    ("/api/v1/openapi.json", Right(None)),  # what a department system builds against: any caller, even a reporter
    ("/api/v1/me", Right(None)),
    ("/api/v1/audit", Right(Action.READ_AUDIT, Classification.INTERNAL)),
    ("/api/v1/users", Right(Action.MANAGE_USERS, Classification.INTERNAL)),
    ("/api/v1/tokens", Right(Action.MANAGE_USERS, Classification.INTERNAL)),
    ("/api/v1/jobs", INTERNAL_VIEW),
    ("/api/v1/store", INTERNAL_VIEW),
    ("/api/v1/tables/", Right(Action.EXPORT)),  # each column above the caller's clearance is masked
    ("/api/v1/bim/uploads", Right(Action.UPLOAD_IFC, Classification.INTERNAL)),
    ("/api/v1/", VIEW),
    ("/admin", ADMIN_SCREEN),
    ("/_dash-", VIEW),  # Dash's layout, dependencies and callbacks (each callback also takes its own right)
    ("/", VIEW),  # the screens
)

DASH_CALLBACKS = "/_dash-update-component"
DASH_SHELL_RULE = "/<path:path>"  # Dash's catch-all: its page shell for any path, so each screen can route itself

#: Every server-side Dash callback, by the property it fills (``id.property``), and the right its data takes:
#: a callback request needs the rights of all its outputs, on top of ``/_dash-``'s. An output not listed
#: here is answered 404 (``tests/views/test_access.py`` checks that every callback the app has is listed).
CALLBACK_RIGHTS: Mapping[str, Right] = MappingProxyType({
    "screen.children": VIEW,  # the screen asked for; it is drawn only for those who may open its path
    "nav.children": VIEW,
    "city-summary.children": VIEW,
    "feature-panel.children": VIEW,  # the drill-down: units and features within the viewer's areas
    "search-results.children": VIEW,
    "search-hit.data": VIEW,
    "jobs-box.children": ADMIN_SCREEN,  # the admin screen's jobs, refreshed
})


def right_for(path: str) -> Right | None:
    """The right a path takes (``OPEN`` is None); a path no prefix matches takes an impossible right."""
    for prefix, right in ROUTE_RIGHTS:
        if _matches(path, prefix):
            return right
    return Right(Action.MANAGE_USERS, Classification.SENSITIVE)


def _matches(path: str, prefix: str) -> bool:
    if prefix == "/":
        return path.startswith("/")
    if prefix.endswith(("/", "-")):  # a folder, or Dash's /_dash-... routes
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")  # a route and what lies under it


def may_open(principal: Principal, path: str) -> bool:
    """Whether ``principal`` may open the screen or route at ``path`` (used by the screens' navigation too)."""
    right = right_for(path)
    return right is None or right.allows(principal)


def principal() -> Principal:
    """Who is asking, in this request (the gate has identified them before any route runs)."""
    found = flask.g.get("principal")
    if found is None:
        raise NotSignedIn("sign in first")
    return found


def viewer() -> Principal:
    """Who a screen is drawn for: the one asking, or, on an open route such as the sign-in page (where Dash
    may build its layout once to check it), the guest."""
    return flask.g.get("principal") or Principal.guest()


def layers_for(services: Services) -> LayerService:
    """The map's layers as the one asking may see them (redacted or left out above their clearance)."""
    return services.cleared[principal().clearance]


def client_address() -> str:
    return (flask.request.remote_addr or "")[:64]


def _identify(services: Services) -> Principal | None:
    header = flask.request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("the Authorization header must be 'Bearer TOKEN'; ask an admin for an API token")
        return services.tokens.verify(token.strip()[:200])
    session_id = flask.request.cookies.get(SESSION_COOKIE)
    if session_id:
        session = services.sessions.get(session_id[:200])
        if session is not None:
            flask.g.session = session
            return services.users.principal(session.user)
    return Principal.guest() if services.settings.guest else None


def _wants_page() -> bool:
    return flask.request.method == "GET" and not flask.request.path.startswith(("/api/", "/_dash-"))


REFUSAL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 武汉城市运行</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="signin-body">
<main class="signin-card">
<h1>武汉城市运行</h1>
<p class="signin-sub">{title}</p>
<p id="refusal" class="signin-error" role="alert">{line}</p>
{action}
</main>
</body>
</html>"""


def refusal_page(status: int, title: str, line: str) -> flask.Response:
    """A screen that cannot be shown, as a page of its own: one line saying why and what to do, and the way
    out: sign out (a signed-in user), sign in (a guest) or the map."""
    session = flask.g.get("session")
    who = flask.g.get("principal")
    if session is not None:
        action = (f'<form method="post" action="/signout"><input type="hidden" name="{CSRF_FIELD}" '
                  f'value="{escape(session.csrf_token, quote=True)}">'
                  f'<button id="signout" type="submit">退出 Sign out</button></form>')
    elif who is None or who.kind == "guest":
        action = f'<p><a id="signin-link" href="{SIGNIN_PATH}">登录 Sign in</a></p>'
    else:
        action = ""
    if status == 404 and (who is None or may_open(who, "/")):
        action += '<p><a id="home-link" href="/">一屏统览 Map</a></p>'
    response = flask.make_response(REFUSAL_PAGE.format(title=escape(title), line=escape(line), action=action),
                                   status)
    response.headers["Cache-Control"] = "no-store"
    return response


def shown_path(path: str) -> str:
    """A path as a one-line message may show it: its first 120 characters, with anything that is not
    printable ASCII (a newline sent as %0A, say) written as in a URL."""
    return quote(path[:120], safe="/-._~!$&'()*+,;=:@")


def not_found(path: str, screens: Collection[str]) -> flask.Response:
    """The one-line 404 for a path nothing here serves: JSON on the API and for scripts, a page for a browser."""
    shown = shown_path(path)
    if path.startswith("/api/"):
        return _refuse(404, f"there is no API route {flask.request.method} {shown}; "
                            f"GET /api/v1/openapi.json lists the routes there are")
    if not _wants_page():
        return _refuse(404, f"there is nothing at {flask.request.method} {shown}; reload the page")
    known = ", ".join(screens)  # in the navigation bar's order
    return refusal_page(404, "找不到 Not found", f"there is no page at {shown}; the screens are {known}")


def body_limit_mb(path: str, services: Services) -> int:
    """The largest request body ``path`` takes, in MB (1 MiB = 1,048,576 bytes)."""
    return services.settings.bim_max_mb if path == UPLOAD_PATH else MAX_BODY_MB


def too_large(path: str, services: Services) -> flask.Response:
    """The one-line 413 for a body over the route's limit."""
    limit = body_limit_mb(path, services)
    declared = flask.request.content_length
    size = f"{declared / 2**20:,.1f} MB" if declared is not None else "over the limit"
    hint = " (TWIN_BIM_MAX_MB)" if path == UPLOAD_PATH else f"; IFC files go to POST {UPLOAD_PATH}"
    return _refuse(413, f"the request body to {shown_path(path)} is {size}; it takes at most {limit} MB{hint}")


def _only_the_shell_serves(path: str, screens: Collection[str]) -> bool:
    """Whether nothing but Dash's catch-all page shell would answer this request: no route of ours, and not
    one of the screens (Dash would answer any path with the shell and a 200)."""
    if path in screens:
        return False
    rule = flask.request.url_rule
    if rule is None and isinstance(flask.request.routing_exception, MethodNotAllowed):
        try:  # e.g. a POST to a path only the shell answers (for GET): as absent as a GET to it
            rule, _ = flask.current_app.url_map.bind_to_environ(flask.request.environ).match(
                method="GET", return_rule=True)
        except HTTPException:
            return False
    return rule is not None and rule.rule == DASH_SHELL_RULE


def _refuse(status: int, message: str) -> flask.Response:
    response = flask.jsonify(error=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="city-twin"'
    return response


def _csrf_ok() -> bool:
    session = flask.g.get("session")
    if session is None:  # a token or the guest: no cookie the browser adds on its own, nothing to forge
        return True
    sent = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get(CSRF_FIELD) or ""
    return hmac.compare_digest(sent.encode(), session.csrf_token.encode())


def content_security_policy(script_hashes: list[str]) -> str:
    scripts = " ".join(h if h.startswith("'") else f"'{h}'" for h in script_hashes)  # Dash quotes its own
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' {scripts}".strip(),
        "style-src 'self' 'unsafe-inline'",  # React sets inline styles
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def register(server: flask.Flask, services: Services, script_hashes: Callable[[], list[str]],
             screens: Collection[str] = ("/",),
             callback_map: Mapping[str, Mapping[str, Any]] = MappingProxyType({})) -> None:
    """Check every request before its route runs, and set the security headers on every answer.

    ``screens`` are the paths of Dash's screens (``views.pages.PAGES``): any other path that only Dash's page
    shell would answer is a 404, once the one asking is known (without credentials, the sign-in or a 401).
    ``callback_map`` is the Dash app's (read at each callback request, so callbacks registered later count):
    a callback request is checked against the callback it names before Dash reads it."""
    policy: list[str] = []
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_MB * 2**20  # what the gate lifts for IFC uploads only
    denials = AuditThrottle(services.audit)  # a refused URL asked for again and again: one record a minute

    def gate() -> flask.Response | None:
        path = flask.request.path
        limit = body_limit_mb(path, services) * 2**20
        flask.request.max_content_length = limit  # read before anything reads the body (Flask >= 3.1)
        if (flask.request.content_length or 0) > limit:
            return too_large(path, services)
        right = right_for(path)
        try:
            who = _identify(services)
        except NotSignedIn as exc:
            if right is None:
                return not_found(path, screens) if _only_the_shell_serves(path, screens) else None
            return _refuse(401, str(exc))
        flask.g.principal = who
        if right is not None and who is None:
            if _wants_page():
                return flask.redirect(f"{SIGNIN_PATH}?next={quote(path)}")
            return _refuse(401, "sign in, or send an API token as 'Authorization: Bearer TOKEN'")
        if _only_the_shell_serves(path, screens):
            return not_found(path, screens)
        if right is None:
            return None
        if not right.allows(who):
            return deny(who, right)
        if flask.request.method not in SAFE_METHODS and not _csrf_ok():
            return _refuse(403, "the request lacks this session's CSRF token; reload the page and try again")
        if path == DASH_CALLBACKS:
            return callback_refused(who)
        return None

    def callback_refused(who: Principal) -> flask.Response | None:
        """The answer to a callback request the caller may not make or that does not fit its callback."""
        if not flask.request.is_json:
            return _refuse(400, "a Dash callback request is JSON (Content-Type: application/json); reload the page")
        body = read_body(flask.request.get_data(cache=True))  # cached: Dash reads it again
        try:
            callback = callback_for(body, server_callbacks(callback_map))
            rights = [CALLBACK_RIGHTS.get(o) for o in callback.outputs]
            if None in rights:  # fails closed; tests/views/test_access.py checks every output has its right
                raise BadCallbackRequest(f"there is no callback for {callback.output[:80]!r}; reload the page",
                                         status=404)
            refused = next((r for r in rights if r is not None and not r.allows(who)), None)
            if refused is not None:
                return deny(who, refused)
            check(body, callback)
        except BadCallbackRequest as exc:
            return _refuse(exc.status, str(exc))
        return None

    def deny(who: Principal, right: Right) -> flask.Response:
        path, ip, needs = flask.request.path, client_address(), f"{right.action or 'any action'} on {right.data} data"
        denials.record((who.kind, who.name, ip, path, needs), actor=who.name, actor_kind=who.kind,
                       action="access.denied", target=path, outcome="denied", ip=ip, detail={"needs": needs})
        if _wants_page():  # never a redirect: the page it would send to may be refused as well
            return refusal_page(403, "无权访问 Not permitted",
                                f"{right.reason(who)}, so {shown_path(flask.request.path)} is not shown; ask an admin "
                                f"for a role that may, or sign out and sign in as someone who may")
        return _refuse(403, f"{right.reason(who)}; ask an admin for a role that may")

    # before anything else that runs ahead of the routes (Dash's own set-up builds the layout, which asks who)
    server.before_request_funcs.setdefault(None, []).insert(0, gate)

    @server.errorhandler(AccessDenied)
    def denied(exc: AccessDenied) -> flask.Response:
        return _refuse(403, str(exc))

    @server.after_request
    def headers(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(content_security_policy(script_hashes()))
        response.headers["Content-Security-Policy"] = policy[0]
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if "Cache-Control" not in response.headers and (response.status_code >= 400
                                                         or response.mimetype == "application/json"):
            response.headers["Cache-Control"] = "no-store"  # errors and JSON not marked otherwise are per caller
        return response
