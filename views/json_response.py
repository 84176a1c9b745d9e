"""JSON answers of the HTTP API, each with the cache policy its content needs.

Most answers are for one caller (masked by their clearance, or naming their jobs and grants), so no cache
(the browser's included) may keep them: ``no-store``. An answer that only changes with its version (the
layer listing, a model's element table) may be kept and asked for again with its ETag: ``no-cache``, and
``304 Not Modified`` when the caller already holds that version.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import flask

#: Answers for one caller: never kept by any cache.
NO_STORE = "no-store"
#: Answers that change only with their version: kept, but asked for again each time (the ETag makes it cheap).
REVALIDATE = "no-cache"

Cache = Literal["no-store", "no-cache"]


def json_response(payload: Any, status: int = 200, *, cache: Cache = NO_STORE,
                  etag: str | None = None) -> flask.Response:
    """``payload`` as compact UTF-8 JSON; with ``etag``, 304 when the request already holds that version."""
    if etag is not None and (etag in flask.request.if_none_match or f"{etag}:gzip" in flask.request.if_none_match):
        response = flask.Response(status=304)
    else:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        response = flask.Response(body, status=status, mimetype="application/json")
    if etag is not None:
        response.set_etag(etag)
    response.headers["Cache-Control"] = cache
    return response
