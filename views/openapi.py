"""The OpenAPI 3.0 description of the HTTP API, served at ``/api/v1/openapi.json``.

It is what department systems build against and what the API fuzzing test (schemathesis) drives. The
request bodies' schemas come from the same pydantic models the routes parse with. Besides the API it
describes every other write the server takes, so the fuzzer drives those too: the sign-in form, sign-out,
and Dash's callback endpoint (its body's schema comes from the callbacks the app registered and the values
:mod:`views.callback_request` declares they take).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask

from twin.permissions import Role
from views.access_gate import CSRF_FIELD, CSRF_HEADER, DASH_CALLBACKS, SESSION_COOKIE, SIGNIN_PATH
from views.admin_api import NewToken, NewUser
from views.callback_request import ServerCallback, request_schema
from views.signin_page import FORM_COOKIE, MAX_NAME, MAX_PASSWORD, PASSWORD_PATH

OPENAPI_PATH = "/api/v1/openapi.json"
ERROR = {"$ref": "#/components/responses/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): ERROR for c in codes}


def _get(summary: str, *, params: list | None = None, media: str = "application/json",
         errors: tuple[int, ...] = (400, 401, 403, 404)) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params or [],
                    "responses": {"200": {"description": "OK", "content": {media: {}}}, **_errors(*errors)}}}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _body(model) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/"
                                                                                  f"{schema['title']}"}}}}


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in (NewUser, NewToken):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[schema["title"]] = schema
    return out


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {}}}


def _form(fields: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": fields, "required": required}}}}


def _beyond_the_api(callbacks: Mapping[str, ServerCallback]) -> dict[str, Any]:
    """The writes outside ``/api/``: the sign-in form (and its page), sign-out and Dash's callbacks."""
    nxt = _query("next", {"type": "string", "maxLength": 500})
    open_ = []  # anyone may reach these, signed in or not
    form_cookie = {"name": FORM_COOKIE, "in": "cookie", "required": False,  # set with the form, sent back with it
                   "schema": {"type": "string", "maxLength": 100}}
    locked = _page("too many failed sign-ins: the account or the address is locked for a while")
    return {
        SIGNIN_PATH: {
            "get": {"summary": "the sign-in page (its form carries a token matching a cookie it sets)",
                    "security": open_, "parameters": [nxt],
                    "responses": {"200": _page("the form"), **_errors(413)}},
            "post": {"summary": "sign in: a good name and password start a session (cookies) and go to `next`",
                     "security": open_,
                     "parameters": [nxt, form_cookie],
                     "requestBody": _form({"name": {"type": "string", "maxLength": MAX_NAME},
                                           "password": {"type": "string", "maxLength": MAX_PASSWORD},
                                           CSRF_FIELD: {"type": "string", "maxLength": 100}},
                                          ["name", "password", CSRF_FIELD]),
                     "responses": {"302": {"description": "signed in: to `next` (a path on this server), or /"},
                                   "200": _page("the password was one-time (given to the user): no session yet, "
                                                f"the form to choose their own ({PASSWORD_PATH})"),
                                   "400": _page("the form expired (its token does not match), or a field is empty"),
                                   "401": _page("wrong name or password (each failure in a row waits longer)"),
                                   "429": locked,
                                   **_errors(413)}},
        },
        PASSWORD_PATH: {
            "post": {"summary": "a user chooses their own password in place of one given to them (one-time), "
                                "then is signed in",
                     "security": open_,
                     "parameters": [nxt, form_cookie],
                     "requestBody": _form({"name": {"type": "string", "maxLength": MAX_NAME},
                                           "current": {"type": "string", "maxLength": MAX_PASSWORD},
                                           "new": {"type": "string", "maxLength": MAX_PASSWORD},
                                           "repeat": {"type": "string", "maxLength": MAX_PASSWORD},
                                           CSRF_FIELD: {"type": "string", "maxLength": 100}},
                                          ["name", "current", "new", "repeat", CSRF_FIELD]),
                     "responses": {"302": {"description": "the new password is kept: signed in, to `next` or /"},
                                   "400": _page("the form expired, a field is empty, the two new passwords differ, "
                                                "or the new one breaks a rule (named)"),
                                   "401": _page("the current password is not right (counted as a failed sign-in)"),
                                   "429": locked,
                                   **_errors(413)}},
        },
        "/signout": {
            "post": {"summary": "sign out: the session ends and its cookies are cleared",
                     "security": [{}, {"session": []}],
                     "parameters": [_csrf()],
                     "requestBody": {**_form({CSRF_FIELD: {"type": "string", "maxLength": 100}}, []),
                                     "required": False},
                     "responses": {"302": {"description": "to the sign-in page"},
                                   "400": _page("a session's sign-out without its CSRF token"),
                                   **_errors(413)}},
        },
        DASH_CALLBACKS: {
            "post": {"summary": "Dash's callbacks: the screens' server-side updates, each checked against the "
                                "callback it names",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": request_schema(callbacks)}}},
                     "responses": {"200": {"description": "the outputs' new values",
                                           "content": {"application/json": {}}},
                                   "204": {"description": "nothing to update"},
                                   **_errors(400, 401, 403, 404, 413)}},
        },
    }


def _csrf() -> dict[str, Any]:
    return {"name": CSRF_HEADER, "in": "header", "required": False, "schema": {"type": "string", "maxLength": 100},
            "description": "a write made with a session carries the session's CSRF token (the _csrf_token cookie)"}


def openapi(callbacks: Mapping[str, ServerCallback]) -> dict[str, Any]:
    """The description, with Dash's endpoint taking requests to ``callbacks`` (the app's server callbacks)."""
    layer = _path("layer_id", {"type": "string", "maxLength": 40})
    variant = _query("variant", {"type": "string", "maxLength": 100})
    model = _path("model_id", {"type": "string", "maxLength": 64})
    paths: dict[str, Any] = {
        OPENAPI_PATH: _get("this description (OpenAPI 3.0)", errors=(401,)),
        "/api/v1/me": _get("who is asking: name, kind, roles, clearance", errors=(401,)),
        "/api/v1/layers": _get("every layer the caller may see, with its versions", errors=(401, 403)),
        "/api/v1/layers/{layer_id}/data": _get("a layer's shapes and values (binary)", params=[layer, variant],
                                               media="application/vnd.city-twin.layer"),
        "/api/v1/layers/{layer_id}/values": _get("a layer's values only (binary)", params=[layer, variant],
                                                 media="application/vnd.city-twin.layer"),
        "/api/v1/layers/{layer_id}/features/{index}": _get(
            "one feature's details", params=[layer, _path("index", {"type": "integer", "minimum": 0}), variant,
                                             _query("version", {"type": "string", "maxLength": 100})]),
        "/api/v1/layers/{layer_id}/features": _get(
            "a feature by its key", params=[layer, variant, _query("key", {"type": "string", "maxLength": 200})]),
        "/api/v1/units/{code}": _get("a unit at any of the seven levels, its trail, counts and units below",
                                     params=[_path("code", {"type": "string", "maxLength": 20})]),
        "/api/v1/addresses/search": _get("find a building by address text",
                                         params=[_query("q", {"type": "string", "maxLength": 400})]),
        "/api/v1/jobs": _get("recent background jobs",
                             params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 500})]),
        "/api/v1/jobs/{job_id}": _get("one job's status and progress",
                                      params=[_path("job_id", {"type": "string", "maxLength": 64})]),
        "/api/v1/store": _get("the store's tables, their sources and classes"),
        "/api/v1/tables/{kind}.csv": _get("a table as CSV, fields above the caller's clearance masked",
                                          params=[_path("kind", {"type": "string", "maxLength": 40})],
                                          media="text/csv"),
        "/api/v1/audit": _get("the audit log, newest first", params=[
            _query("user", {"type": "string", "maxLength": 64}),
            _query("since", {"type": "string", "maxLength": 40}),
            _query("action", {"type": "string", "maxLength": 64}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000})]),
        "/api/v1/bim/models": _get("the IFC models in the city: where, storeys, counts, their GLB's URL"),
        "/api/v1/bim/models/{model_id}.glb": _get(
            "a model's GLB (a node per element, its GlobalId, class, name and storey in the node's extras)",
            params=[model, _query("v", {"type": "string", "maxLength": 64})], media="model/gltf-binary"),
        "/api/v1/bim/models/{model_id}/elements/{index}": _get(
            "one element of a model: class, name, storey, GlobalId and property sets",
            params=[model, _path("index", {"type": "integer", "minimum": 0})]),
        "/api/v1/bim/uploads": {
            "post": {"summary": "upload an IFC file (the request body); a background job converts and places it",
                     "parameters": [
                         {**_query("name", {"type": "string", "maxLength": 200}), "required": True},
                         _query("anchor", {"type": "string", "maxLength": 80}),
                         _query("rotation", {"type": "number", "minimum": -360, "maximum": 360})],
                     "requestBody": {"required": True,
                                     "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                         "format": "binary"}}}},
                     "responses": {"202": {"description": "queued: the answer names the job",
                                           "content": {"application/json": {}}}, **_errors(400, 401, 403, 413)}},
        },
        "/api/v1/users": {
            **_get("the users and their roles"),
            "post": {"summary": "add a user", "requestBody": _body(NewUser),
                     "responses": {"201": {"description": "added", "content": {"application/json": {}}},
                                   **_errors(400, 401, 403)}},
        },
        "/api/v1/users/{name}/disable": {
            "post": {"summary": "disable a user (their sessions end)",
                     "parameters": [_path("name", {"type": "string", "maxLength": 64})],
                     "responses": {"200": {"description": "disabled", "content": {"application/json": {}}},
                                   **_errors(400, 401, 403, 404)}},
        },
        "/api/v1/tokens": {
            **_get("the API tokens (never the tokens themselves)"),
            "post": {"summary": "add an API token; the answer shows it once", "requestBody": _body(NewToken),
                     "responses": {"201": {"description": "added", "content": {"application/json": {}}},
                                   **_errors(400, 401, 403)}},
        },
        **_beyond_the_api(callbacks),
    }
    for path, operations in paths.items():
        if "post" in operations and path not in (SIGNIN_PATH, PASSWORD_PATH, "/signout"):  # their token is a field
            operations["post"].setdefault("parameters", []).append(_csrf())
    return {
        "openapi": "3.0.3",
        "info": {"title": "City operations twin API", "version": "1",
                 "description": "Every call takes an API token (Authorization: Bearer TOKEN) or a signed-in "
                                f"session (from {SIGNIN_PATH}); only signing in and out take neither. "
                                f"Roles: {', '.join(r.value for r in Role)}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}},
            "responses": {"Error": {"description": "one line saying what is wrong and what to do",
                                    "content": {"application/json": {"schema": {
                                        "type": "object", "properties": {"error": {"type": "string"}},
                                        "required": ["error"]}}}}},
            "schemas": _schemas(),
        },
    }


def register(server: flask.Flask, callbacks: Mapping[str, ServerCallback]) -> None:
    described = openapi(callbacks)

    @server.get(OPENAPI_PATH)
    def openapi_json() -> flask.Response:
        return flask.jsonify(described)
