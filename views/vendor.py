"""Serve deck.gl 9 from our own server: nothing is fetched from outside.

`make setup` installs deck.gl from the npm registry into ``.venv/npm`` (pinned by ``package-lock.json``,
never committed); its ``dist.min.js`` (2 MB) defines the global ``deck`` and runs in a third of the
time of the 4.3 MB copy inside the pydeck wheel (``pydeck/nbextension/static/index.js``, which also
carries maplibre and pydeck's JSON converter). Without the npm install, the pydeck copy is served:
the same ``deck`` API, only slower to start. Either is gzipped once, when the app starts.
"""

from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import flask
import pydeck

#: Where `make setup` installs the browser's packages from the npm registry.
NPM = Path(sys.prefix) / "npm" / "node_modules"
DECK_DIR = Path(pydeck.__file__).parent / "nbextension" / "static"  # the copy inside the pydeck wheel


@dataclass(frozen=True)
class Bundle:
    """One deck.gl build: where it is, which it is, and the URL it is served at."""

    path: Path
    source: str  # "npm" or "pydeck"
    version: str

    @property
    def url(self) -> str:
        return f"/vendor/deckgl/{self.source}-{self.version}/{self.path.name}"


def deck_bundle(npm: Path = NPM) -> Bundle:
    """The deck.gl build to serve: npm's if installed, else the pydeck wheel's."""
    built = npm / "deck.gl" / "dist.min.js"
    if built.exists():
        version = json.loads((npm / "deck.gl" / "package.json").read_text())["version"]
        return Bundle(built, "npm", version)
    path = DECK_DIR / "index.js"
    if not path.exists():
        raise FileNotFoundError(
            f"no deck.gl build: neither {built} (make setup installs it) nor {path} (reinstall pydeck>=0.9)"
        )
    return Bundle(path, "pydeck", pydeck.__version__)


def register(server: flask.Flask, bundle: Bundle) -> None:
    """Serve ``bundle`` at its URL, gzipped once here rather than on every request."""
    packed = gzip.compress(bundle.path.read_bytes(), compresslevel=6)

    @server.get("/vendor/deckgl/<build>/<name>")
    def deck_file(build: str, name: str) -> flask.Response:
        if f"/vendor/deckgl/{build}/{name}" != bundle.url:
            flask.abort(404)
        if flask.request.accept_encodings["gzip"] > 0:
            response = flask.Response(packed, mimetype="text/javascript")
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = flask.send_file(bundle.path, mimetype="text/javascript")
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=86400"  # the URL names the build
        return response
