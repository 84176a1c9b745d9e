"""The whole HTTP surface driven by a property-based fuzzer (schemathesis) from its own OpenAPI description:
the API, the sign-in form, sign-out and Dash's callback endpoint. No input ends in a server error, every
refusal says what is wrong on one line, and nothing but signing in (and choosing one's own password) and out is reached
without credentials."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app import create_app
from tests.conftest import DEMO_SEED, VIEWER_ROLES, token_for
from twin.demo import build_demo
from twin.permissions import Grant, Role
from twin.services import open_services
from twin.settings import load_settings
from views.access_gate import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE
from views.callback_request import server_callbacks
from views.signin_page import FORM_COOKIE

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])
SESSION_USER = "fuzz-session"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A city of the fuzzer's own (it adds users and tokens, and its wrong passwords lock the test client's
    address: no other test's store sees that), its services, and a token that may do anything."""
    folder = tmp_path_factory.mktemp("fuzz") / "city"
    build_demo(folder, seed=DEMO_SEED, buildings=300)
    services = open_services(load_settings(data=folder))
    services.users.add(SESSION_USER, password="a session of the fuzzer's",
                       grants=[Grant(Role(r)) for r in VIEWER_ROLES])
    yield services, token_for(services, *VIEWER_ROLES)
    services.close()


@pytest.fixture(autouse=True)
def no_sign_in_delay(monkeypatch):
    """Each wrong password waits longer; the fuzzer sends many."""
    monkeypatch.setattr("views.signin_page.MAX_DELAY_S", 0.0)


def _operations(services, token):
    """Every operation of the description as served (to a caller with ``token``: it is behind the gate too),
    each with the strategies of the requests the fuzzer makes for it: valid ones and, to find what bad input
    does, invalid ones."""
    described = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(services).server,
                                               headers={"Authorization": f"Bearer {token}"})
    for result in described.get_all_operations():
        operation = result.ok()
        yield operation, st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                                   operation.as_strategy(GenerationMode.NEGATIVE))


def _is_open(operation) -> bool:
    """Whether the description lets anyone call ``operation``, with no credentials (signing in and out)."""
    security = operation.definition.raw.get("security")
    return security is not None and (security == [] or {} in security)


def _without_auth(case) -> dict[str, str]:
    return {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}


def _session_started(response) -> bool:
    return any(re.match(rf"{SESSION_COOKIE}=[^;]", c) for c in response.headers.get("set-cookie", []))


def _one_line(response, where: str) -> None:
    """A refusal says what is wrong on one line: the JSON's error, the sign-in page's alert, or a plain line."""
    kind = (response.headers.get("content-type") or [""])[0]
    if kind.startswith("application/json"):
        message = response.json()["error"]
    elif kind.startswith("text/html"):
        found = re.findall(r'role="alert">([^<]*)<', response.text)
        assert len(found) == 1, f"{where}: {response.text[:300]}"
        message = found[0]
    else:
        message = response.text
    assert message and "\n" not in message, f"{where}: {message[:300]}"


def _pair_the_form_token(case) -> None:
    """Send the sign-in form's token in its cookie too, as the browser that loaded the form would, so the
    fuzzed name and password reach the password check (and its lockout) instead of stopping at the token."""
    if case.operation.label not in ("POST /signin", "POST /signin/password"):
        return
    sent = case.body.get(CSRF_FIELD) if isinstance(case.body, dict) else None
    if isinstance(sent, str) and sent.isascii() and sent.isprintable() and not set(sent) & set(';,"\\ '):
        case.cookies = {**(case.cookies or {}), FORM_COOKIE: sent}


def test_the_description_covers_every_api_route_and_every_write(fuzzed):
    from views.openapi import openapi

    app = create_app(fuzzed[0])
    described = openapi(server_callbacks(app.callback_map))["paths"]
    rules = list(app.server.url_map.iter_rules())
    routes = {r.rule.replace("<", "{").replace(">", "}").replace("{int:", "{") for r in rules
              if r.rule.startswith("/api/v1/")}
    assert routes == {p for p in described if p.startswith("/api/v1/")} | {"/api/v1/stream"}  # it never ends
    writes = {(r.rule.replace("<", "{").replace(">", "}"), m.lower()) for r in rules
              for m in r.methods - {"GET", "HEAD", "OPTIONS"}}
    assert writes == {(p, m) for p, ops in described.items() for m in ops if m != "get"}
    assert {"/signin", "/signin/password", "/signout", "/_dash-update-component"} <= {p for p, _ in writes}


@pytest.mark.parametrize("caller", ["token", "session"])
def test_no_request_ends_in_a_server_error(fuzzed, caller):
    """Every operation, as a caller who may do anything: with an API token, or with a signed-in session (its
    CSRF token sent unless the fuzzer sends one of its own)."""
    services, token = fuzzed
    seen = []
    for operation, requests in _operations(services, token):
        seen.append(operation.label)

        @FUZZ
        @given(case=requests, pair=st.booleans())
        def call(case, pair):
            if pair:
                _pair_the_form_token(case)
            if caller == "token":
                response = case.call(headers={"Authorization": f"Bearer {token}"})
            else:
                session = services.sessions.create(SESSION_USER, ip="127.0.0.1", user_agent="fuzz")
                case.headers = {CSRF_HEADER: session.csrf_token, **_without_auth(case)}
                case.cookies = {**(case.cookies or {}), SESSION_COOKIE: session.session_id}
                response = case.call()
            where = f"{case.method} {case.formatted_path} as {caller}"
            assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:300]}"
            if not case.operation.path.startswith("/api/"):  # described here first: say what they answer
                assert str(response.status_code) in case.operation.definition.raw["responses"], (
                    f"{where} -> {response.status_code}")
            if response.status_code >= 400:
                _one_line(response, where)

        call()
    assert len(seen) >= 22 and {"POST /signin", "POST /signin/password", "POST /signout",
                                "POST /_dash-update-component"} <= set(seen)


def test_nothing_gets_through_without_credentials(fuzzed):
    """Without credentials, or with made-up ones (a bad token, and now and then a made-up session cookie the
    fuzzer sends), every operation is a 401 but signing in and out, which never start a session."""
    services, token = fuzzed
    for _operation, requests in _operations(services, token):

        @FUZZ
        @given(case=requests, pair=st.booleans())
        def call(case, pair):
            if pair:
                _pair_the_form_token(case)
            headers = _without_auth(case)
            for sent in (headers, {**headers, "Authorization": "Bearer twt_made-up"}):
                case.headers = sent
                response = case.call()
                where = f"{case.method} {case.formatted_path} without credentials"
                if _is_open(case.operation):
                    assert response.status_code < 500 and not _session_started(response), (
                        f"{where} -> {response.status_code}")
                else:
                    assert response.status_code == 401, f"{where} -> {response.status_code}"

        call()
