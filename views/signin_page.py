"""The sign-in page and sign-out: plain HTML forms served by Flask, outside Dash, so they work before any
script has loaded.

A sign-in form carries a token that must match a cookie set with the form (so another site cannot sign a
browser in as someone else). A good name and password start a session: an HttpOnly cookie holding the
session's id (the store keeps only its hash), and a readable ``_csrf_token`` cookie that Dash sends back on
its requests. A wrong one is answered after a delay that grows with each failure, and too many lock the
account, or the address they come from, for a while (``twin.users``). Every attempt is audited.
"""

from __future__ import annotations

import secrets
import time
from html import escape

import flask

from twin.manifest import now
from twin.services import Services
from twin.users import SigninFailed, SigninLocked
from views.access_gate import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, SIGNIN_PATH, client_address, refusal_page

FORM_COOKIE = "twin_signin"
MAX_DELAY_S = 4.0
MAX_NAME = 64
MAX_PASSWORD = 1024

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 Sign in · 武汉城市运行</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="signin-body">
<main class="signin-card">
<h1>武汉城市运行</h1>
<p class="signin-sub">City operations twin · 登录 Sign in</p>
{message}
<form method="post" action="{action}" id="signin-form">
<input type="hidden" name="csrf_token" value="{form_token}">
<label for="signin-name">用户名 Name</label>
<input id="signin-name" name="name" autocomplete="username" maxlength="64" required value="{name}" autofocus>
<label for="signin-password">密码 Password</label>
<input id="signin-password" name="password" type="password" autocomplete="current-password" maxlength="1024"
 required>
<button id="signin-submit" type="submit">登录 Sign in</button>
</form>
{guest}
</main>
</body>
</html>"""


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never ``//elsewhere`` or ``https://...``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 500:
        return "/"
    return target


def _page(services: Services, *, message: str = "", name: str = "", status: int = 200) -> flask.Response:
    # one token per browser while its cookie lasts: a second load of the page (the browser may fetch it again)
    # must not leave an earlier copy of the form with a token that no longer matches
    held = flask.request.cookies.get(FORM_COOKIE, "")
    token = held if len(held) == 43 and held.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(32)
    nxt = _safe_next(flask.request.values.get("next"))
    action = f"{SIGNIN_PATH}?next={escape(nxt, quote=True)}"
    guest = ('<p class="signin-guest"><a href="/">访客浏览 Continue as guest</a> (public layers, read-only)</p>'
             if services.settings.guest else "")
    shown = f'<p id="signin-error" class="signin-error" role="alert">{escape(message)}</p>' if message else ""
    html = PAGE.format(message=shown, action=action, form_token=token, name=escape(name[:MAX_NAME], quote=True),
                       guest=guest)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="Lax", secure=_secure(services),
                        path=SIGNIN_PATH, max_age=3600)
    return response


def _secure(services: Services) -> bool:
    return services.settings.secure_cookies or flask.request.is_secure


def register(server: flask.Flask, services: Services) -> None:
    @server.get(SIGNIN_PATH)
    def signin_form() -> flask.Response:
        return _page(services)

    @server.post(SIGNIN_PATH)
    def signin() -> flask.Response:
        form = flask.request.form
        name = (form.get("name") or "").strip()[:MAX_NAME]
        password = (form.get("password") or "")[:MAX_PASSWORD]
        ip = client_address()
        sent, expected = form.get(CSRF_FIELD) or "", flask.request.cookies.get(FORM_COOKIE) or ""
        if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):  # str: ASCII only
            return _page(services, message="此表单已过期 The form expired; please sign in again.", name=name,
                         status=400)
        if not name or not password:
            return _page(services, message="请输入用户名和密码 Enter your name and password.", name=name, status=400)
        try:
            who = services.users.verify(name, password, ip=ip)
        except SigninLocked as exc:
            services.audit.record(actor=name, actor_kind="user", action="signin", outcome="denied", ip=ip,
                                  detail={"reason": str(exc)})
            return _page(services, message=f"账户已锁定 {exc}", name=name, status=429)
        except SigninFailed as exc:
            services.audit.record(actor=name, actor_kind="user", action="signin", outcome="failed", ip=ip)
            time.sleep(min(exc.delay_s, MAX_DELAY_S))  # each failure in a row waits longer
            return _page(services, message="用户名或密码错误 Wrong name or password.", name=name, status=401)
        session = services.sessions.create(who.name, ip=ip, user_agent=flask.request.user_agent.string[:300])
        services.audit.record(actor=who.name, actor_kind="user", action="signin", ip=ip)
        response = flask.redirect(_safe_next(flask.request.args.get("next")))
        max_age = max(1, int((session.expires_at - now()).total_seconds()))
        response.set_cookie(SESSION_COOKIE, session.session_id, httponly=True, samesite="Lax",
                            secure=_secure(services), max_age=max_age)
        response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, samesite="Strict",
                            secure=_secure(services), max_age=max_age)
        response.delete_cookie(FORM_COOKIE, path=SIGNIN_PATH)
        return response

    @server.post("/signout")
    def signout() -> flask.Response:
        session = flask.g.get("session")
        if session is not None:
            sent = flask.request.form.get(CSRF_FIELD) or flask.request.headers.get("X-CSRFToken") or ""
            if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
                return refusal_page(400, "退出 Sign out", "the sign-out form lacks its token; reload the page")
            services.sessions.revoke(flask.request.cookies.get(SESSION_COOKIE, ""))
            services.audit.record(actor=session.user, actor_kind="user", action="signout", ip=client_address())
        response = flask.redirect(SIGNIN_PATH)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(CSRF_COOKIE)
        return response
