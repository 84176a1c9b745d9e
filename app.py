"""Build the Dash app of the city-operations twin: the page shell, the screens, the API, error display.

Run it with ``twin serve`` (or ``make demo``); this module only assembles the pieces from ``views``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask
from werkzeug.exceptions import HTTPException

from twin.errors import TwinError
from twin.services import Services
from views import api, pages, vendor

ASSETS = Path(__file__).parent / "views" / "assets"
log = logging.getLogger(__name__)


def create_app(services: Services) -> dash.Dash:
    """The app over one set of services. Nothing it serves comes from outside this server."""
    deck = vendor.deck_bundle()
    app = dash.Dash(
        __name__,
        title="武汉城市运行 · City operations twin",
        assets_folder=str(ASSETS),
        serve_locally=True,
        external_scripts=[deck.url],
        update_title=None,
        suppress_callback_exceptions=True,  # screens are rendered on demand, their callbacks registered up front
        compress=True,  # gzip for the page, Dash's scripts and the deck.gl bundle (flask-compress)
    )
    vendor.register(app.server, deck)
    api.register(app.server, services)

    @app.server.errorhandler(TwinError)
    def twin_error(exc: TwinError) -> tuple[flask.Response, int]:
        return flask.jsonify(error=str(exc)), exc.status

    @app.server.errorhandler(Exception)
    def unexpected(exc: Exception) -> flask.Response | tuple[flask.Response, int]:
        if isinstance(exc, HTTPException):  # 404s and the like keep their own answer
            return exc.get_response()
        log.exception("%s %s failed", flask.request.method, flask.request.path)
        return flask.jsonify(error=f"internal error ({type(exc).__name__}); the server's log has the details"), 500

    app.index_string = pages.INDEX

    def interpolate_index(**parts: str) -> str:  # per request: the map page names its first layers
        page = dash.Dash.interpolate_index(app, **parts)
        return pages.fill_index(page, services, flask.request.path, flask.request.args)

    app.interpolate_index = interpolate_index
    app.layout = lambda: pages.shell(services)
    pages.register_callbacks(app, services)
    return app
