"""Serve the deck.gl 9 bundle from the installed pydeck wheel: nothing is fetched from outside.

pydeck ships deck.gl as one UMD file (``pydeck/nbextension/static/index.js``) that defines the global
``deck`` when loaded by a plain ``<script>``. We serve that file from our own server.
"""

from __future__ import annotations

from pathlib import Path

import flask
import pydeck

DECK_DIR = Path(pydeck.__file__).parent / "nbextension" / "static"
DECK_FILES = ("index.js", "index.js.map")
DECK_URL = f"/vendor/deckgl/{pydeck.__version__}/index.js"


def deck_bundle_path() -> Path:
    path = DECK_DIR / "index.js"
    if not path.exists():
        raise FileNotFoundError(
            f"the deck.gl bundle is missing from the pydeck install ({path}); reinstall pydeck>=0.9"
        )
    return path


def register(server: flask.Flask) -> None:
    deck_bundle_path()

    @server.get("/vendor/deckgl/<version>/<name>")
    def deck_file(version: str, name: str) -> flask.Response:
        if version != pydeck.__version__ or name not in DECK_FILES:
            flask.abort(404)
        response = flask.send_from_directory(DECK_DIR, name, max_age=86400)
        response.headers["Content-Type"] = "text/javascript; charset=utf-8" if name.endswith(".js") else (
            "application/json")
        return response
