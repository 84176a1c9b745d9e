"""A Dash callback request (``POST /_dash-update-component``), checked before Dash reads it.

Dash's dispatcher trusts the renderer: a body that names an output no callback fills, leaves out its outputs,
or sends a number where a list of inputs belongs ends in a KeyError or a TypeError deep inside Dash, a 500.
So the gate checks each request against the callback it names: :func:`callback_for` finds the callback (404
when there is none), then :func:`check` requires the outputs, inputs and state it was registered with, in
order, each value of the kind its property holds (:data:`INPUT_VALUES`), and every list bounded. Anything
else is a one-line 400.
The same declarations describe the endpoint in the OpenAPI document (:func:`request_schema`).

>>> callback_outputs("..screen.children...nav.children..")
['screen.children', 'nav.children']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from twin.errors import TwinError

MAX_PROPS = 20
T = TypeVar("T")


def _flat(value: dict[str, Any]) -> dict[str, Any]:
    """A flat object: its values are text, numbers, true, false or null, never lists or objects."""
    nested = next((k for k, v in value.items() if isinstance(v, dict | list)), None)
    if nested is not None:
        raise ValueError(f"{nested[:40]!r} holds a list or an object; each holds text, a number, true, false or null")
    return value


Text = Annotated[str, StringConstraints(max_length=500)]
Count = Annotated[int, Field(ge=0)]
Flat = Annotated[dict[str, Any], Field(max_length=MAX_PROPS), AfterValidator(_flat), WithJsonSchema({
    "type": "object", "maxProperties": MAX_PROPS, "additionalProperties": {
        "nullable": True, "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}})]

#: What each input or state of a server callback holds, by ``id.property`` (a test checks every callback's
#: inputs are here). Values arrive as JSON, so nothing is coerced: a string where a count belongs is a 400.
INPUT_VALUES: Mapping[str, TypeAdapter] = MappingProxyType({
    key: TypeAdapter(kind, config=ConfigDict(strict=True)) for key, kind in {
        "url.pathname": Text | None,  # the screen's path
        "picked-feature.data": Flat | None,  # what the map says was picked (views/assets/city_map.js)
        "address-search.value": Annotated[str, StringConstraints(max_length=400)] | None,
        "address-search-go.n_clicks": Count | None,
        "jobs-tick.n_intervals": Count | None,
    }.items()
})


class BadCallbackRequest(TwinError):
    """A callback request that names no callback (404) or does not fit the one it names (400)."""


def callback_outputs(output: str) -> list[str]:
    """The ``id.property`` of each output a callback request names (``..a.b...c.d..`` for several)."""
    if output.startswith("..") and output.endswith(".."):
        return output[2:-2].split("...")
    return [output]


@dataclass(frozen=True)
class ServerCallback:
    """A callback the server runs: the ``id.property`` of its outputs, inputs and state, in order."""

    output: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    state: tuple[str, ...]

    @classmethod
    def of(cls, output: str, registered: Mapping[str, Any]) -> ServerCallback:
        """From an entry of Dash's ``app.callback_map``."""
        def names(deps: list[dict[str, Any]]) -> tuple[str, ...]:
            return tuple(f"{d['id']}.{d['property']}" for d in deps)

        return cls(output, tuple(callback_outputs(output)), names(registered["inputs"]), names(registered["state"]))


def server_callbacks(callback_map: Mapping[str, Mapping[str, Any]]) -> dict[str, ServerCallback]:
    """The callbacks of Dash's ``app.callback_map`` that run on the server (not those the browser runs)."""
    return {key: ServerCallback.of(key, entry) for key, entry in callback_map.items() if "callback" in entry}


def read_body(raw: bytes) -> object:
    """The request's JSON, or None when it is not JSON at all (too deeply nested counts as not JSON)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def callback_for(body: object, callbacks: Mapping[str, ServerCallback]) -> ServerCallback:
    """The server callback a request names by its ``output``."""
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, str) or not output:
        raise BadCallbackRequest("a Dash callback request names its output; reload the page", status=400)
    if output not in callbacks:
        raise BadCallbackRequest(f"there is no callback for {output[:80]!r}; reload the page", status=404)
    return callbacks[output]


class _Target(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)
    id: Annotated[str, StringConstraints(max_length=100)]
    property: Annotated[str, StringConstraints(max_length=100)]

    @property
    def name(self) -> str:
        return f"{self.id}.{self.property}"


class _Value(_Target):
    value: Any = None


class _Request(BaseModel):
    """The parts of the renderer's request Dash reads (it sends more, which Dash ignores)."""

    model_config = ConfigDict(strict=True, frozen=True)
    output: Annotated[str, StringConstraints(max_length=500)]
    outputs: object  # one target, or a list of them for several: checked against the callback
    inputs: Annotated[list[_Value], Field(max_length=MAX_PROPS)]
    state: Annotated[list[_Value], Field(max_length=MAX_PROPS)] = []
    changedPropIds: Annotated[list[Annotated[str, StringConstraints(max_length=200)]],  # Dash's name
                              Field(max_length=MAX_PROPS)] = []


_TARGETS = TypeAdapter(Annotated[list[_Target], Field(max_length=MAX_PROPS)])


def check(body: object, callback: ServerCallback) -> None:
    """That ``body`` asks ``callback`` for what it fills, with the inputs and state it takes, each of its kind."""
    request = _valid(_Request.model_validate, body, "")
    single = len(callback.outputs) == 1  # the renderer sends one target as an object, several as a list
    sent = [_valid(_Target.model_validate, request.outputs, "outputs")] if single else _valid(
        _TARGETS.validate_python, request.outputs, "outputs")
    if [t.name for t in sent] != list(callback.outputs):
        raise BadCallbackRequest(f"outputs: the callback for {callback.output[:80]!r} fills "
                                 f"{_listed(callback.outputs, single)}; reload the page")
    for part, expected, given in (("inputs", callback.inputs, request.inputs),
                                  ("state", callback.state, request.state)):
        if [v.name for v in given] != list(expected):
            raise BadCallbackRequest(f"{part}: the callback for {callback.output[:80]!r} takes "
                                     f"{_listed(expected, False)}; reload the page")
        for i, one in enumerate(given):
            _check_value(f"{part}.{i}.value", one)
    # changedPropIds only tell the callback what triggered it: bounded above, not matched against its inputs


def _valid(validate: Callable[[object], T], value: object, where: str) -> T:
    """``validate(value)``, or a 400 naming the first thing wrong, at its place under ``where``."""
    try:
        return validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in (where, *first["loc"]) if p != "") or "body"
        place = "".join(c if c.isprintable() else repr(c)[1:-1] for c in place[:120])  # a key may hold a newline
        said = {"model_type": "Input should be an object",  # not the name of our class
                "value_error": str(first.get("ctx", {}).get("error"))}.get(first["type"], first["msg"])
        raise BadCallbackRequest(f"{place}: {said}; reload the page") from None


def _check_value(where: str, one: _Value) -> None:
    kind = INPUT_VALUES.get(one.name)
    if kind is None:  # a callback registered without declaring what its input holds: refused, not guessed
        raise BadCallbackRequest(f"{where}: {one.name} is not a value this server takes; reload the page")
    _valid(kind.validate_python, one.value, where)


def _listed(names: tuple[str, ...], single: bool) -> str:
    if single:
        return names[0] if names else "nothing"
    return "[" + ", ".join(names) + "]"


def request_schema(callbacks: Mapping[str, ServerCallback]) -> dict[str, Any]:
    """The JSON schema of a request to any of ``callbacks``: one alternative per callback."""
    def target(name: str) -> dict[str, Any]:
        id_, _, prop = name.partition(".")
        return {"type": "object", "required": ["id", "property"],
                "properties": {"id": {"type": "string", "enum": [id_]}, "property": {"type": "string", "enum": [prop]}}}

    def values(names: tuple[str, ...]) -> dict[str, Any]:
        kinds = [{**target(n), "required": ["id", "property", "value"],
                  "properties": {**target(n)["properties"], "value": INPUT_VALUES[n].json_schema()}}
                 for n in dict.fromkeys(names)]
        items = kinds[0] if len(kinds) == 1 else {"oneOf": kinds}
        return {"type": "array", "items": items, "minItems": len(names), "maxItems": len(names)}

    alternatives = []
    for key, callback in callbacks.items():
        single = len(callback.outputs) == 1
        properties = {
            "output": {"type": "string", "enum": [key]},
            "outputs": target(callback.outputs[0]) if single else {
                "type": "array", "items": {"oneOf": [target(o) for o in callback.outputs]},
                "minItems": len(callback.outputs), "maxItems": len(callback.outputs)},
            "inputs": values(callback.inputs),
            "changedPropIds": {"type": "array", "items": {"type": "string", "maxLength": 200},
                               "maxItems": MAX_PROPS},
        }
        if callback.state:
            properties["state"] = values(callback.state)
        alternatives.append({"type": "object", "required": ["output", "outputs", "inputs", "changedPropIds"],
                             "properties": properties})
    return {"oneOf": alternatives}
