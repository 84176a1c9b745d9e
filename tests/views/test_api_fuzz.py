"""The whole HTTP API driven by a property-based fuzzer (schemathesis) from its own OpenAPI description:
no input ends in a server error, and nothing gets through without credentials."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app import create_app
from tests.conftest import DEMO_SEED, VIEWER_ROLES, token_for
from twin.demo import build_demo
from twin.services import open_services
from twin.settings import load_settings

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A city of the fuzzer's own (it adds users and tokens), its services, and a token that may do anything."""
    folder = tmp_path_factory.mktemp("fuzz") / "city"
    build_demo(folder, seed=DEMO_SEED, buildings=300)
    services = open_services(load_settings(data=folder))
    yield services, token_for(services, *VIEWER_ROLES)
    services.close()


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


def test_the_description_covers_every_api_route(fuzzed):
    from views.openapi import openapi

    server = create_app(fuzzed[0]).server
    routes = {r.rule.replace("<", "{").replace(">", "}").replace("{int:", "{") for r in server.url_map.iter_rules()
              if r.rule.startswith("/api/v1/")}
    described = set(openapi()["paths"]) | {"/api/v1/stream"}  # the stream never ends
    assert routes == described


def test_no_request_ends_in_a_server_error(fuzzed):
    services, token = fuzzed
    seen = []
    for operation, requests in _operations(services, token):
        seen.append(operation.label)

        @FUZZ
        @given(case=requests)
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:300]}"
            if response.status_code >= 400:  # one line saying what is wrong, as JSON
                assert response.json()["error"] and "\n" not in response.json()["error"], where

        call()
    assert len(seen) >= 18


def test_nothing_gets_through_without_credentials(fuzzed):
    services, token = fuzzed
    for _operation, requests in _operations(services, token):

        @FUZZ
        @given(case=requests)
        def call(case):
            headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            for sent in (headers, {**headers, "Authorization": "Bearer twt_made-up"}):
                case.headers = sent
                response = case.call()
                assert response.status_code == 401, (
                    f"{case.method} {case.formatted_path} without credentials -> {response.status_code}")

        call()
