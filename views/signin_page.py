"""The sign-in page and sign-out: plain HTML forms served by Flask, outside Dash, so they work before any
script has loaded.

A sign-in form carries a token that must match a cookie set with the form (so another site cannot sign a
browser in as someone else). A good name and password start a session: an HttpOnly cookie holding the
session's id (the store keeps only its hash), and a readable ``_csrf_token`` cookie that Dash sends back on
its requests. A wrong one is answered after a delay that grows with each failure, and too many lock the
account, or the address they come from, for a while (``twin.users``). Every attempt is audited.

A user whose password was given to them (one-time: the demo's, an admin's ``--one-time`` reset) gets no
session from it: the sign-in answers a form where they type it again and choose their own, which then
signs them in (``/signin/password``).
"""

from __future__ import annotations

import secrets
import time
from html import escape

import flask

from twin.manifest import now
from twin.services import Services
from twin.users import SigninFailed, SigninLocked, UserError
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


#: The page a user with a one-time password (the demo's, an admin's reset) sees after it: their own, twice.
CHANGE_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>设置密码 Choose your password · 武汉城市运行</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="signin-body">
<main class="signin-card">
<h1>武汉城市运行</h1>
<p class="signin-sub">设置您自己的密码 Choose your own password</p>
{message}
<p id="password-why" class="signin-note">您的密码是一次性密码：请设置自己的密码后继续。
The password you were given is for one sign-in: choose your own to go on (at least 10 characters).</p>
<form method="post" action="{action}" id="password-form">
<input type="hidden" name="csrf_token" value="{form_token}">
<label for="password-name">用户名 Name</label>
<input id="password-name" name="name" autocomplete="username" maxlength="64" required readonly value="{name}">
<label for="password-current">当前密码 The password you were given</label>
<input id="password-current" name="current" type="password" autocomplete="current-password" maxlength="1024"
 required autofocus>
<label for="password-new">新密码 Your new password</label>
<input id="password-new" name="new" type="password" autocomplete="new-password" maxlength="1024" required>
<label for="password-repeat">再次输入 The new password again</label>
<input id="password-repeat" name="repeat" type="password" autocomplete="new-password" maxlength="1024" required>
<button id="password-submit" type="submit">保存并登录 Save and sign in</button>
</form>
</main>
</body>
</html>"""
PASSWORD_PATH = f"{SIGNIN_PATH}/password"


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never ``//elsewhere`` or ``https://...``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 500:
        return "/"
    return target


def _page(services: Services, *, message: str = "", name: str = "", status: int = 200,
          change: bool = False) -> flask.Response:
    # one token per browser while its cookie lasts: a second load of the page (the browser may fetch it again)
    # must not leave an earlier copy of the form with a token that no longer matches
    held = flask.request.cookies.get(FORM_COOKIE, "")
    token = held if len(held) == 43 and held.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(32)
    nxt = _safe_next(flask.request.values.get("next"))
    action = f"{PASSWORD_PATH if change else SIGNIN_PATH}?next={escape(nxt, quote=True)}"
    guest = ('<p class="signin-guest"><a href="/">访客浏览 Continue as guest</a> (public layers, read-only)</p>'
             if services.settings.guest else "")
    shown = f'<p id="signin-error" class="signin-error" role="alert">{escape(message)}</p>' if message else ""
    if change:
        html = CHANGE_PAGE.format(message=shown, action=action, form_token=token,
                                  name=escape(name[:MAX_NAME], quote=True))
    else:
        html = PAGE.format(message=shown, action=action, form_token=token, name=escape(name[:MAX_NAME], quote=True),
                           guest=guest)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="Lax", secure=_secure(services),
                        path=SIGNIN_PATH, max_age=3600)
    return response


def _secure(services: Services) -> bool:
    return services.settings.secure_cookies or flask.request.is_secure


def _refused(services: Services, exc: SigninLocked | SigninFailed, name: str, ip: str, *, action: str, wrong: str,
             change: bool = False) -> flask.Response:
    """A password that did not open the account: audited, answered after the delay the failures in a row earn
    (a wrong one), or the lock's message (429)."""
    if isinstance(exc, SigninLocked):
        services.audit.record(actor=name, actor_kind="user", action=action, outcome="denied", ip=ip,
                              detail={"reason": str(exc)})
        return _page(services, message=f"账户已锁定 {exc}", name=name, status=429)
    services.audit.record(actor=name, actor_kind="user", action=action, outcome="failed", ip=ip)
    time.sleep(min(exc.delay_s, MAX_DELAY_S))  # each failure in a row waits longer
    return _page(services, message=wrong, name=name, status=401, change=change)


def _start_session(services: Services, name: str, ip: str) -> flask.Response:
    """A new session for ``name``: its cookies, and on to where the user was going."""
    session = services.sessions.create(name, ip=ip, user_agent=flask.request.user_agent.string[:300])
    response = flask.redirect(_safe_next(flask.request.args.get("next")))
    max_age = max(1, int((session.expires_at - now()).total_seconds()))
    response.set_cookie(SESSION_COOKIE, session.session_id, httponly=True, samesite="Lax",
                        secure=_secure(services), max_age=max_age)
    response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, samesite="Strict",
                        secure=_secure(services), max_age=max_age)
    response.delete_cookie(FORM_COOKIE, path=SIGNIN_PATH)
    return response


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
        except (SigninLocked, SigninFailed) as exc:
            return _refused(services, exc, name, ip, action="signin",
                            wrong="用户名或密码错误 Wrong name or password.")
        if services.users.get(who.name).must_change_password:  # a one-time password: no session before their own
            services.audit.record(actor=who.name, actor_kind="user", action="signin", outcome="denied", ip=ip,
                                  detail={"reason": "one-time password: the user must choose their own"})
            return _page(services, name=who.name, change=True)
        services.audit.record(actor=who.name, actor_kind="user", action="signin", ip=ip)
        return _start_session(services, who.name, ip)

    @server.post(PASSWORD_PATH)
    def choose_password() -> flask.Response:
        form = flask.request.form
        name = (form.get("name") or "").strip()[:MAX_NAME]
        current = (form.get("current") or "")[:MAX_PASSWORD]
        new, repeat = (form.get("new") or "")[:MAX_PASSWORD], (form.get("repeat") or "")[:MAX_PASSWORD]
        ip = client_address()
        sent, expected = form.get(CSRF_FIELD) or "", flask.request.cookies.get(FORM_COOKIE) or ""
        if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
            return _page(services, message="此表单已过期 The form expired; please sign in again.", name=name,
                         status=400)
        if not name or not current or not new:
            return _page(services, message="请填写每一项 Fill in every field.", name=name, status=400, change=True)
        if new != repeat:
            return _page(services, message="两次输入的新密码不同 The two new passwords differ; type them again.",
                         name=name, status=400, change=True)
        try:
            who = services.users.change_password(name, current, new, ip=ip)
        except (SigninLocked, SigninFailed) as exc:
            return _refused(services, exc, name, ip, action="user.passwd", change=True,
                            wrong="当前密码错误 The password you were given is not right.")
        except UserError as exc:
            return _page(services, message=f"新密码不可用 {exc}", name=name, status=400, change=True)
        services.audit.record(actor=who.name, actor_kind="user", action="user.passwd", target=who.name, ip=ip,
                              detail={"one_time": "replaced by the user's own"})
        services.audit.record(actor=who.name, actor_kind="user", action="signin", ip=ip)
        return _start_session(services, who.name, ip)

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
