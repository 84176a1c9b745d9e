"""Servers for the benchmarks and the browser tests: ``twin serve`` in a child process, and a baseline's
small Flask app on a thread."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask
from werkzeug.serving import BaseWSGIServer, make_server


def serve_in_thread(app: flask.Flask, port: int) -> BaseWSGIServer:
    """Serve ``app`` on 127.0.0.1:``port`` from a daemon thread; call ``shutdown()`` on the result to stop."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def serve_city(
    data: Path, port: int, log: Path, *, seconds: float = 120, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Serve the city in ``data`` on 127.0.0.1:``port`` until the block ends; yields the page URL.

    ``env`` adds settings (``TWIN_...``) for the server.
    """
    twin = Path(sys.executable).parent / "twin"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(twin), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process, log, seconds)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the server at {url} did not answer within {seconds} s; see {log}")


#: The roles of the viewer the benchmarks and browser tests sign in as: sees and may do everything.
VIEWER_ROLES = ("commander", "gis_admin", "admin")


def viewer_session(folder: Path, name: str = "viewer", roles: tuple[str, ...] = VIEWER_ROLES) -> tuple[str, str]:
    """A user ``name`` with ``roles`` in the city's live store (made if missing) and a new session for them:
    (session id, CSRF token), as a browser holds them after signing in."""
    import secrets

    from twin.live_store import LiveStore
    from twin.permissions import Grant, Role
    from twin.sessions import SessionStore
    from twin.settings import load_settings
    from twin.users import UnknownUser, UserStore

    live = LiveStore.open(load_settings(data=folder).database_url, folder)
    try:
        users = UserStore(live)
        try:
            users.get(name)
        except UnknownUser:
            grants = [Grant(Role(r), department="城管委" if r == "handler" else None) for r in roles]
            users.add(name, password=secrets.token_urlsafe(16), grants=grants)
        session = SessionStore(live).create(name, ip="127.0.0.1", user_agent="city-twin tests")
        return session.session_id, session.csrf_token
    finally:
        live.dispose()


def session_cookies(url: str, session: tuple[str, str]) -> list[dict]:
    """The cookies a signed-in browser holds for the server at ``url`` (for Playwright's ``add_cookies``)."""
    from urllib.parse import urlparse

    parts = urlparse(url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    return [{"name": "twin_session", "value": session[0], "url": origin, "httpOnly": True, "sameSite": "Lax"},
            {"name": "_csrf_token", "value": session[1], "url": origin, "sameSite": "Strict"}]


class SignedInBrowser:
    """A browser whose pages open signed in to the servers it was told about (each page in a context of its own,
    holding only the cookies of the server it opens, since cookies do not tell ports apart)."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self._cookies: dict[str, list[dict]] = {}

    def sign_in(self, url: str, folder: Path, name: str = "viewer", roles: tuple[str, ...] = VIEWER_ROLES) -> None:
        from urllib.parse import urlparse

        self._cookies[urlparse(url).netloc] = session_cookies(url, viewer_session(folder, name, roles))

    def new_page(self, url: str | None = None, **options):
        from urllib.parse import urlparse

        # the tests' own scripts (wait_for_function with an expression) are evaluated in the page: let them run
        # under the app's content security policy (a test of the policy itself uses ``self.browser``)
        context = self.browser.new_context(bypass_csp=True, **options)
        if url is not None and urlparse(url).netloc in self._cookies:
            context.add_cookies(self._cookies[urlparse(url).netloc])
        page = context.new_page()
        page.on("close", lambda _page: context.close())
        return page

    def close(self) -> None:
        self.browser.close()
