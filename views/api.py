"""The HTTP API under ``/api/v1``: layers (listing, binary messages, picked features), jobs, the store,
and the live stream. Thin adapters: each route parses its input and calls the services.

Layer messages carry their version as an ETag; a browser that already has a version gets
``304 Not Modified``. ``/api/v1/stream`` is a server-sent event stream of ``layers`` and ``jobs``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import flask

from cim.levels import Level
from layers.messages import FULL, VALUES
from layers.wire import MEDIA_TYPE
from twin.change_feed import sse
from twin.errors import TwinError
from twin.layer_service import Built, LayerService
from twin.services import Services
from views.access_gate import layers_for, principal
from views.json_response import REVALIDATE, json_response
from views.shown_data import details_shown, residents_shown, search_shown, unit_shown

#: A keep-alive comment goes down an idle stream this often, so proxies and browsers keep it open.
KEEP_ALIVE_S = 15.0
#: How often a waiting stream checks that its client is still there.
CHECK_CLIENT_S = 1.0
#: A stream ends after this long; the browser's EventSource opens a new one (so no client holds one forever).
STREAM_LIFETIME_S = 600.0
MAX_KEY = 200


class BadRequest(TwinError):
    status = 400


def _arg(name: str, *, default: str | None = None, limit: int = 100) -> str | None:
    value = flask.request.args.get(name, default)
    if value is not None and len(value) > limit:
        raise BadRequest(f"the {name!r} parameter is longer than {limit} characters")
    return value


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = flask.request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"the {name!r} parameter must be a whole number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"the {name!r} parameter must be from {low} to {high}, got {value}")
    return value


def _binary(built: Built) -> flask.Response:
    """A layer message, gzipped when the client takes gzip, with its version as the ETag."""
    packed = flask.request.accept_encodings["gzip"] > 0
    etag = f"{built.version}.gz" if packed else built.version
    if etag in flask.request.if_none_match:
        response = flask.Response(status=304)
    elif packed:
        response = flask.Response(built.packed, mimetype=MEDIA_TYPE)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = flask.Response(built.plain, mimetype=MEDIA_TYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"  # always ask; the ETag makes asking cheap
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["X-Layer-Version"] = built.version
    return response


def register(server: flask.Flask, services: Services) -> None:
    def layers() -> LayerService:
        return layers_for(services)

    @server.get("/api/v1/me")
    def me() -> flask.Response:
        who = principal()
        return json_response({"name": who.name, "kind": who.kind, "roles": sorted(who.roles),
                              "clearance": str(who.clearance), "guest": who.kind == "guest"})

    @server.get("/api/v1/layers")
    def list_layers() -> flask.Response:
        listing = layers().listing()
        digest = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()[:20]
        return json_response(listing, cache=REVALIDATE, etag=digest)

    @server.get("/api/v1/layers/<layer_id>/data")
    def layer_data(layer_id: str) -> flask.Response:
        return _binary(layers().message(layer_id, _arg("variant"), FULL))

    @server.get("/api/v1/layers/<layer_id>/values")
    def layer_values(layer_id: str) -> flask.Response:
        return _binary(layers().message(layer_id, _arg("variant"), VALUES))

    @server.get("/api/v1/layers/<layer_id>/features/<int:index>")
    def feature(layer_id: str, index: int) -> flask.Response:
        details = layers().details(layer_id, _arg("variant"), index, version=_arg("version"))
        return json_response(details_shown(details, principal()).to_json() | {"index": index})

    @server.get("/api/v1/layers/<layer_id>/features")
    def feature_by_key(layer_id: str) -> flask.Response:
        key = _arg("key", limit=MAX_KEY)
        if not key:
            raise BadRequest("give the feature's key, e.g. ?key=42010200100502001002 for a building code")
        index, details = layers().find(layer_id, _arg("variant"), key)
        return json_response(details_shown(details, principal()).to_json() | {"index": index})

    @server.get("/api/v1/units/<code>")
    def unit(code: str) -> flask.Response:
        if len(code) > 20:
            raise BadRequest("a unit code has at most 20 digits (a building's)")
        who = principal()
        view = unit_shown(services, code, who)
        body = view.to_json()
        if view.unit.level is Level.BUILDING:
            found = residents_shown(services, view.unit.code, who)
            body["residents"] = None if found is None else {
                "total": found.total, "rows": list(found.rows),
                "classes": {k: str(v) for k, v in found.classes.items()}}
        return json_response(body)

    @server.get("/api/v1/addresses/search")
    def search_address() -> flask.Response:
        found = services.search.search(_arg("q", default="", limit=400) or "")
        return json_response(search_shown(found, principal()).to_json())

    @server.get("/api/v1/jobs")
    def list_jobs() -> flask.Response:
        limit = _int_arg("limit", 50, 1, 500)
        return json_response({"jobs": [j.to_json() for j in services.jobs.recent(limit)]})

    @server.get("/api/v1/jobs/<job_id>")
    def job(job_id: str) -> flask.Response:
        if len(job_id) > 64:
            raise BadRequest("a job id has at most 64 characters")
        return json_response(services.jobs.get(job_id).to_json())

    @server.get("/api/v1/store")
    def store() -> flask.Response:
        manifest = services.store.manifest()
        tables = {}
        for kind, entry in manifest.tables.items():
            table = entry.model_dump(mode="json")
            for source in table["sources"]:  # the file's name, not where it lay on the server
                source["file"] = source["file"].replace("\\", "/").rsplit("/", 1)[-1]
            tables[kind] = table
        return json_response({"generation": manifest.generation, "tables": tables})

    @server.get("/api/v1/stream")
    def stream() -> flask.Response:
        feed = services.feed
        events_for = feed.events_for(principal().clearance)  # topic -> the event name this viewer gets
        disconnected = flask.request.environ.get("waitress.client_disconnected", lambda: False)
        if not feed.open_stream():  # each stream holds a server thread: past the cap, answer and let it poll
            response = json_response({"error": f"all {feed.max_streams} live streams are taken; poll "
                                                f"/api/v1/layers instead, or close other tabs"}, 503)
            response.headers["Retry-After"] = "30"
            return response

        def events() -> Iterator[str]:
            try:
                seen = 0
                yield "retry: 1000\n\n"
                opened = quiet_since = time.monotonic()
                while not feed.stopped and not disconnected() and time.monotonic() - opened < STREAM_LIFETIME_S:
                    seen, fresh = feed.wait(seen, CHECK_CLIENT_S)
                    mine = {events_for[t]: p for t, p in fresh.items() if t in events_for}
                    if mine:
                        for event, payload in mine.items():
                            yield sse(event, payload)
                        quiet_since = time.monotonic()
                    elif time.monotonic() - quiet_since >= KEEP_ALIVE_S:
                        yield ": keep-alive\n\n"
                        quiet_since = time.monotonic()
            finally:
                feed.close_stream()

        response = flask.Response(events(), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        return response
