"""A Dash callback request is checked against the callback it names before Dash reads it."""

from __future__ import annotations

import pytest

from app import create_app
from views.callback_request import (
    INPUT_VALUES,
    BadCallbackRequest,
    ServerCallback,
    callback_for,
    check,
    read_body,
    server_callbacks,
)

SEARCH = ServerCallback("..search-results.children...search-hit.data..", ("search-results.children", "search-hit.data"),
                        ("address-search.value", "address-search-go.n_clicks"), ("address-search.value",))
JOBS = ServerCallback("jobs-box.children", ("jobs-box.children",), ("jobs-tick.n_intervals",), ())
PANEL = ServerCallback("feature-panel.children", ("feature-panel.children",), ("picked-feature.data",), ())
CALLBACKS = {c.output: c for c in (SEARCH, JOBS)}


def _search(**changes) -> dict:
    body = {"output": SEARCH.output,
            "outputs": [{"id": "search-results", "property": "children"}, {"id": "search-hit", "property": "data"}],
            "inputs": [{"id": "address-search", "property": "value", "value": "友谊路"},
                       {"id": "address-search-go", "property": "n_clicks", "value": 2}],
            "state": [{"id": "address-search", "property": "value", "value": "友谊路"}],
            "changedPropIds": ["address-search-go.n_clicks"], "parsedChangedPropsIds": ["address-search-go.n_clicks"]}
    return {**body, **changes}


def _jobs(**changes) -> dict:
    body = {"output": JOBS.output, "outputs": {"id": "jobs-box", "property": "children"},
            "inputs": [{"id": "jobs-tick", "property": "n_intervals", "value": 3}], "changedPropIds": []}
    return {**body, **changes}


def test_a_request_as_the_renderer_sends_it_passes():
    assert callback_for(_search(), CALLBACKS) is SEARCH
    check(_search(), SEARCH)
    check(_jobs(), JOBS)  # one output: an object, not a list; no state: none sent
    for picked in ({"layer": "buildings", "variant": None, "index": 12, "version": "v3", "at": 1_767_000_000_000},
                   {"unit": "420102", "at": 1.5}, None):  # as views/assets/city_map.js sets it, or nothing yet
        check(_jobs(output=PANEL.output, outputs={"id": "feature-panel", "property": "children"},
                    inputs=[{"id": "picked-feature", "property": "data", "value": picked}]), PANEL)
    check(_search(inputs=[{"id": "address-search", "property": "value", "value": None},
                          {"id": "address-search-go", "property": "n_clicks", "value": None}]), SEARCH)


@pytest.mark.parametrize(("body", "status", "message"), [
    (None, 400, "a Dash callback request names its output; reload the page"),
    ([], 400, "a Dash callback request names its output; reload the page"),
    ({"output": 5}, 400, "a Dash callback request names its output; reload the page"),
    ({"output": "nav.children"}, 404, "there is no callback for 'nav.children'; reload the page"),
    ({"output": "x" * 300}, 404, f"there is no callback for {'x' * 80!r}; reload the page"),
])
def test_a_request_that_names_no_callback_is_refused(body, status, message):
    with pytest.raises(BadCallbackRequest) as caught:
        callback_for(body, CALLBACKS)
    assert caught.value.status == status and str(caught.value) == message


@pytest.mark.parametrize(("body", "callback", "message"), [
    (_jobs(outputs=None), JOBS, "outputs: Input should be an object"),
    (_jobs(outputs=[{"id": "jobs-box", "property": "children"}]), JOBS, "outputs: Input should be an object"),
    (_jobs(outputs={"id": "nav", "property": "children"}), JOBS,
     "outputs: the callback for 'jobs-box.children' fills jobs-box.children"),
    (_search(outputs=[{"id": "search-results", "property": "children"}]), SEARCH,
     "outputs: the callback for '..search-results.children...search-hit.data..' fills "
     "[search-results.children, search-hit.data]"),
    (_search(outputs=3), SEARCH, "outputs: Input should be a valid list"),
    (_jobs(inputs="x"), JOBS, "inputs: Input should be a valid list"),
    (_jobs(inputs=[5]), JOBS, "inputs.0: Input should be an object"),
    (_jobs(inputs=[{"id": {"type": "row"}, "property": "n_intervals"}]), JOBS, "inputs.0.id: Input should be a "
                                                                               "valid string"),
    (_jobs(inputs=[]), JOBS, "inputs: the callback for 'jobs-box.children' takes [jobs-tick.n_intervals]"),
    (_jobs(inputs=[{"id": "jobs-tick", "property": "n_intervals", "value": "3"}]), JOBS,
     "inputs.0.value: Input should be a valid integer"),
    (_jobs(inputs=[{"id": "jobs-tick", "property": "n_intervals", "value": -1}]), JOBS,
     "inputs.0.value: Input should be greater than or equal to 0"),
    (_jobs(output="feature-panel.children", outputs={"id": "feature-panel", "property": "children"},
           inputs=[{"id": "picked-feature", "property": "data", "value": {"layer\n": [1]}}]), PANEL,
     "inputs.0.value: 'layer\\n' holds a list or an object; each holds text, a number, true, false or "
     "null"),
    (_search(state=[]), SEARCH, "state: the callback for '..search-results.children...search-hit.data..' takes "
                                "[address-search.value]"),
    (_search(state=[{"id": "address-search", "property": "value", "value": ["a"]}]), SEARCH,
     "state.0.value: Input should be a valid string"),
    (_search(changedPropIds=["address-search-go.n_clicks"] * 21), SEARCH,
     "changedPropIds: List should have at most 20 items after validation, not 21"),
    (_search(changedPropIds="address-search-go.n_clicks"), SEARCH, "changedPropIds: Input should be a valid list"),
    (_jobs(inputs=[{"id": "jobs-tick", "property": "n_intervals", "value": 1}] * 21), JOBS,
     "inputs: List should have at most 20 items after validation, not 21"),
])
def test_a_request_that_does_not_fit_its_callback_is_a_400_naming_the_place(body, callback, message):
    with pytest.raises(BadCallbackRequest) as caught:
        check(body, callback)
    assert caught.value.status == 400
    assert str(caught.value) == f"{message}; reload the page"


def test_a_value_nobody_declared_is_refused_not_guessed():
    undeclared = ServerCallback("out.children", ("out.children",), ("box.value",), ())
    body = {"output": "out.children", "outputs": {"id": "out", "property": "children"},
            "inputs": [{"id": "box", "property": "value", "value": 1}]}
    with pytest.raises(BadCallbackRequest, match=r"^inputs\.0\.value: box\.value is not a value this server takes"):
        check(body, undeclared)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 10_000])
def test_a_body_that_is_not_json_reads_as_none(raw):
    assert read_body(raw) is None


def test_every_server_callback_of_the_app_declares_what_its_inputs_hold(services):
    callbacks = server_callbacks(create_app(services).callback_map)
    taken = {name for c in callbacks.values() for name in (*c.inputs, *c.state)}
    assert taken == set(INPUT_VALUES)
    assert "routed.data" not in callbacks  # the browser runs that one itself
