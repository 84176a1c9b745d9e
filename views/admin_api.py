"""The API for accounts and the audit log: users, API tokens, and reading the audit.

Bodies are pydantic models with bounds; anything else is answered 400 with one line naming the field.
Every write is audited. Who may call these is the gate's business (``views/access_gate.py``): admins.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import flask
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from twin.audit import since_of
from twin.city_store import CityStore
from twin.drill_down import UnknownArea, check_area
from twin.errors import TwinError
from twin.permissions import Grant, GrantError, Role
from twin.services import Services
from views.access_gate import client_address, principal
from views.json_response import json_response

MAX_BODY = 16_384
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")]
Department = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class BadBody(TwinError):
    status = 400


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    area: Code | None = None
    department: Department | None = None


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    password: Annotated[str, StringConstraints(min_length=10, max_length=1024)]
    roles: Annotated[list[GrantBody], Field(min_length=1, max_length=9)]
    display_name: Annotated[str, StringConstraints(max_length=64)] | None = None


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    roles: Annotated[list[GrantBody], Field(min_length=1, max_length=9)]
    expires_days: Annotated[int, Field(ge=1, le=3650)] | None = None


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M]) -> M:
    """The request's JSON body as ``model``, or a 400 naming the first thing wrong with it."""
    raw = flask.request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise BadBody(f"the body is larger than {MAX_BODY:,} bytes")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadBody("the body is not valid JSON; send an object like the OpenAPI description shows") from None
    except RecursionError:  # the parser gives up on arrays or objects nested a thousand deep
        raise BadBody("the body nests too deeply to read; send an object like the OpenAPI description shows") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadBody(f"{where}: {first['msg']}") from None


def grants_of(body: list[GrantBody], store: CityStore) -> list[Grant]:
    """The grants a body names; 400 for one that does not fit its role or names an area the city lacks."""
    try:
        grants = [Grant(g.role, area=g.area, department=g.department) for g in body]
    except GrantError as exc:
        raise BadBody(str(exc).splitlines()[0]) from None
    for i, grant in enumerate(grants):
        if grant.area is not None:
            try:
                check_area(store, grant.area)
            except UnknownArea as exc:
                raise BadBody(f"roles.{i}.area: {exc}") from None
    return grants


def register(server: flask.Flask, services: Services) -> None:
    def audit(action: str, target: str, **detail: Any) -> None:
        who = principal()
        services.audit.record(actor=who.name, actor_kind=who.kind, action=action, target=target,
                              ip=client_address(), detail=detail or None)

    @server.get("/api/v1/users")
    def list_users() -> flask.Response:
        return json_response({"users": [u.to_json() for u in services.users.list()]})

    @server.post("/api/v1/users")
    def add_user() -> flask.Response:
        body = parse_body(NewUser)
        grants = grants_of(body.roles, services.store)
        user = services.users.add(body.name, password=body.password, grants=grants, display_name=body.display_name)
        audit("user.add", body.name, roles=[g.role.value for g in body.roles])
        return json_response(user.to_json(), 201)

    @server.post("/api/v1/users/<name>/disable")
    def disable_user(name: str) -> flask.Response:
        if len(name) > 64:
            raise BadBody("a user name has at most 64 characters")
        services.users.disable(name)
        audit("user.disable", name)
        return json_response(services.users.get(name).to_json())

    @server.get("/api/v1/tokens")
    def list_tokens() -> flask.Response:
        return json_response({"tokens": [t.to_json() for t in services.tokens.list()]})

    @server.post("/api/v1/tokens")
    def add_token() -> flask.Response:
        body = parse_body(NewToken)
        expires = timedelta(days=body.expires_days) if body.expires_days else None
        issued = services.tokens.add(body.name, grants=grants_of(body.roles, services.store),
                                     created_by=principal().name, expires_in=expires)
        audit("token.add", body.name, roles=list(issued.roles))
        return json_response({"name": issued.name, "roles": list(issued.roles), "token": issued.token}, 201)

    @server.get("/api/v1/audit")
    def read_audit() -> flask.Response:
        args = flask.request.args
        user = args.get("user")
        if user is not None and len(user) > 64:
            raise BadBody("a user name has at most 64 characters")
        action = args.get("action")
        if action is not None and len(action) > 64:
            raise BadBody("an action has at most 64 characters")
        try:
            limit = int(args.get("limit", "200"))
        except ValueError:
            raise BadBody("limit must be a whole number from 1 to 5000") from None
        if not 1 <= limit <= 5000:
            raise BadBody("limit must be a whole number from 1 to 5000")
        since = since_of(args["since"][:40]) if args.get("since") else None
        records = services.audit.query(user=user, since=since, action=action, limit=limit)
        return json_response({"records": [r.to_json() for r in records]})
