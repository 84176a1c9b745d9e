"""HTTP routes that hand the city's layers to the browser in binary form (see ``layers.wire``)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable

import flask

from layers import scene
from layers.wire import MEDIA_TYPE
from twin.city_data import CityData
from twin.errors import NotFound


class LayerPublisher:
    """Builds each layer message once per app and keeps it, plain and gzipped."""

    def __init__(self, city: CityData) -> None:
        self.city = city
        self.origin = scene.origin_of(city.districts)
        self._messages: dict[str, tuple[bytes, bytes]] = {}
        self._lock = threading.Lock()  # the server answers on several threads; build each message once

    def builders(self) -> dict[str, Callable[[], bytes]]:
        city, origin = self.city, self.origin
        out: dict[str, Callable[[], bytes]] = {
            "buildings": lambda: scene.buildings_message(city.buildings, origin),
            "districts": lambda: scene.outlines_message(city.districts, origin, layer="districts"),
            "land": lambda: scene.areas_message(city.districts, origin, layer="land"),
            "water": lambda: scene.areas_message(city.water, origin, layer="water"),
        }
        for res in city.population.resolutions:
            out[f"population-r{res}"] = lambda res=res: scene.population_message(city.population, res, origin)
        return out

    def message(self, name: str) -> tuple[bytes, bytes]:
        with self._lock:
            if name not in self._messages:
                builders = self.builders()
                if name not in builders:
                    raise NotFound(f"no layer named {name!r}; layers: {', '.join(sorted(builders))}")
                plain = builders[name]()
                self._messages[name] = (plain, gzip.compress(plain, compresslevel=6))
            return self._messages[name]


def register(server: flask.Flask, publisher: LayerPublisher) -> None:
    @server.get("/api/layers/<name>.bin")
    def layer(name: str) -> flask.Response:
        plain, packed = publisher.message(name)
        if flask.request.accept_encodings["gzip"] > 0:
            response = flask.Response(packed, mimetype=MEDIA_TYPE)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = flask.Response(plain, mimetype=MEDIA_TYPE)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Vary"] = "Accept-Encoding"
        return response
