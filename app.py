"""Build the Dash app of the city-operations twin: layout shell, routes, error display.

Run it with ``twin serve`` (or ``make demo``); this module only assembles the pieces from ``views``.
"""

from __future__ import annotations

from pathlib import Path

import dash
import flask

from twin.city_data import CityData
from twin.errors import TwinError
from views import city_map, layer_routes, vendor

ASSETS = Path(__file__).parent / "views" / "assets"


def create_app(city: CityData) -> dash.Dash:
    """The app for one loaded city. Nothing it serves comes from outside this server."""
    app = dash.Dash(
        __name__,
        title="武汉城市运行 · City operations twin",
        assets_folder=str(ASSETS),
        serve_locally=True,
        external_scripts=[vendor.DECK_URL],
        update_title=None,
        compress=True,  # gzip for the page, Dash's scripts and the deck.gl bundle (flask-compress)
    )
    publisher = layer_routes.LayerPublisher(city)
    vendor.register(app.server)
    layer_routes.register(app.server, publisher)

    @app.server.errorhandler(TwinError)
    def twin_error(exc: TwinError) -> tuple[flask.Response, int]:
        return flask.jsonify(error=str(exc)), exc.status

    app.index_string = city_map.index_page(city)
    app.layout = city_map.layout(city)
    city_map.register_callbacks(app, city)
    return app
