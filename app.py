"""Build the Dash app of the city-operations twin: the page shell, the screens, the API, error display.

Run it with ``twin serve`` (or ``make demo``); this module only assembles the pieces from ``views``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask
from dash.exceptions import DependencyException
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from twin.errors import TwinError
from twin.services import Services
from views import access_gate, admin_api, api, bim_api, openapi, pages, signin_page, table_export, vendor
from views.callback_request import server_callbacks

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
    screens = [p.path for p in pages.PAGES if p.path is not None]
    access_gate.register(app.server, services, app.csp_hashes, screens,  # first: every request is checked here
                         app.callback_map)
    signin_page.register(app.server, services)
    vendor.register(app.server, deck)
    api.register(app.server, services)
    table_export.register(app.server, services)
    admin_api.register(app.server, services)
    bim_api.register(app.server, services)

    @app.server.errorhandler(TwinError)
    def twin_error(exc: TwinError) -> tuple[flask.Response, int]:
        return flask.jsonify(error=str(exc)), exc.status

    @app.server.errorhandler(DependencyException)
    def no_such_script(_exc: DependencyException) -> tuple[flask.Response, int]:  # Dash's scripts, by name
        shown = access_gate.shown_path(flask.request.path)
        return flask.jsonify(error=f"there is no script at {shown}; reload the page"), 404

    @app.server.errorhandler(Exception)
    def unexpected(exc: Exception) -> flask.Response | tuple[flask.Response, int]:
        if isinstance(exc, HTTPException):  # 404s and the like: one line, as JSON or (for a browser) a page
            if exc.code is not None and exc.code < 400:  # a redirect werkzeug's routing asks for
                return exc.get_response()
            if isinstance(exc, RequestEntityTooLarge):  # a body without Content-Length, over the limit as read
                return access_gate.too_large(flask.request.path, services)
            if isinstance(exc, NotFound) and exc.description == NotFound.description:  # nothing at this path
                return access_gate.not_found(flask.request.path, screens)
            line = f"{exc.name}: {exc.description}".replace("\n", " ")
            if exc.code is None or flask.request.path.startswith("/api/") or flask.request.method != "GET":
                return flask.jsonify(error=line), exc.code or 500
            return access_gate.refusal_page(exc.code, exc.name, line)
        log.exception("%s %s failed", flask.request.method, flask.request.path)
        return flask.jsonify(error=f"internal error ({type(exc).__name__}); the server's log has the details"), 500

    app.index_string = pages.INDEX

    def interpolate_index(**parts: str) -> str:  # per request: the map page names its first layers
        page = dash.Dash.interpolate_index(app, **parts)
        return pages.fill_index(page, services, flask.request.path, flask.request.args)

    app.interpolate_index = interpolate_index
    app.layout = lambda: pages.shell(services)
    pages.register_callbacks(app, services)
    openapi.register(app.server, server_callbacks(app.callback_map))  # describes Dash's endpoint by its callbacks
    return app
