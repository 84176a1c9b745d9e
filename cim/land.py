"""The land of the demo city: the outline, the rivers and lake, the three towns, the districts.

The Yangtze and the Han split Wuhan into three towns (三镇). Districts are laid out per town as
Voronoi cells of their real centres, clipped to that town's land, so no district straddles a river.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from cim.local_frame import to_local
from cim.wuhan import (
    CITY_OUTLINE,
    DISTRICTS,
    EAST_LAKE,
    HAN,
    HAN_WIDTH_M,
    YANGTZE,
    YANGTZE_WIDTH_M,
    Bank,
    District,
)


@dataclass(frozen=True)
class WaterBody:
    name_zh: str
    name_en: str
    kind: str  # "river" or "lake"
    geometry: Polygon | MultiPolygon  # local metres


@dataclass(frozen=True)
class Land:
    """The city's land and water in the local metric frame (EPSG:4547)."""

    outline: Polygon
    water: tuple[WaterBody, ...]
    districts: tuple[tuple[District, Polygon | MultiPolygon], ...]


def _local_line(points: tuple[tuple[float, float], ...]) -> LineString:
    lon, lat = np.array(points).T
    return LineString(np.column_stack(to_local(lon, lat)))


def _local_polygon(points: tuple[tuple[float, float], ...]) -> Polygon:
    lon, lat = np.array(points).T
    return Polygon(np.column_stack(to_local(lon, lat)))


def voronoi_cells(seeds_xy: np.ndarray, within: Polygon | MultiPolygon) -> list[Polygon | MultiPolygon]:
    """One cell per seed, in seed order: the part of ``within`` nearer that seed than any other.

    A cell may be empty when a seed's nearest region lies outside ``within``.
    """
    if len(seeds_xy) == 1:
        return [within]
    points = shapely.multipoints(seeds_xy)
    cells = shapely.voronoi_polygons(points, extend_to=within, ordered=True)
    parts = shapely.get_parts(cells)
    return list(shapely.intersection(parts, within))


def land_in(districts: list[tuple[District, Polygon | MultiPolygon]]) -> Land:
    """The land of real district boundaries (local metres), less the demo city's rivers and lake."""
    outline = shapely.union_all([g for _, g in districts])
    water = tuple(WaterBody(w.name_zh, w.name_en, w.kind, w.geometry.intersection(outline))
                  for w in _water(outline))
    wet = shapely.union_all([w.geometry for w in water])
    return Land(outline=outline, water=water,
                districts=tuple((d, shapely.make_valid(g.difference(wet))) for d, g in districts))


def _water(outline: Polygon | MultiPolygon) -> tuple[WaterBody, ...]:
    yangtze = _local_line(YANGTZE).buffer(YANGTZE_WIDTH_M / 2, cap_style="flat").intersection(outline)
    han = _local_line(HAN).buffer(HAN_WIDTH_M / 2, cap_style="flat").intersection(outline)
    return (
        WaterBody("长江", "Yangtze", "river", yangtze),
        WaterBody("汉江", "Han", "river", han),
        WaterBody("东湖", "East Lake", "lake", _local_polygon(EAST_LAKE)),
    )


def build_land() -> Land:
    """Lay out the outline, water and districts of the demo city."""
    outline = _local_polygon(CITY_OUTLINE)
    yangtze_line = _local_line(YANGTZE)
    han_line = _local_line(HAN)
    yangtze = yangtze_line.buffer(YANGTZE_WIDTH_M / 2, cap_style="flat").intersection(outline)
    han = han_line.buffer(HAN_WIDTH_M / 2, cap_style="flat").intersection(outline)
    lake = _local_polygon(EAST_LAKE)
    water = (
        WaterBody("长江", "Yangtze", "river", yangtze),
        WaterBody("汉江", "Han", "river", han),
        WaterBody("东湖", "East Lake", "lake", lake),
    )
    dry = outline.difference(shapely.union_all([yangtze, han, lake]))
    towns = _split_into_towns(dry)
    districts: list[tuple[District, Polygon | MultiPolygon]] = []
    for bank, town in towns.items():
        members = [d for d in DISTRICTS if d.bank is bank]
        seeds = np.column_stack(to_local(np.array([d.lon for d in members]), np.array([d.lat for d in members])))
        for district, cell in zip(members, voronoi_cells(seeds, town), strict=True):
            districts.append((district, shapely.make_valid(cell)))
    order = {d.code: i for i, d in enumerate(DISTRICTS)}
    districts.sort(key=lambda pair: order[pair[0].code])
    return Land(outline=outline, water=water, districts=tuple(districts))


def _split_into_towns(dry: Polygon | MultiPolygon) -> dict[Bank, Polygon | MultiPolygon]:
    """Group the pieces of dry land into the three towns by the district centre nearest each piece."""
    centres = {
        d.code: Point(*(float(v[0]) for v in to_local(np.array([d.lon]), np.array([d.lat])))) for d in DISTRICTS
    }
    pieces: dict[Bank, list[Polygon]] = {bank: [] for bank in Bank}
    for piece in shapely.get_parts(dry):
        if piece.area < 1e4:  # slivers under a hectare left by the river buffers
            continue
        nearest = min(DISTRICTS, key=lambda d: piece.distance(centres[d.code]))
        pieces[nearest.bank].append(piece)
    return {bank: shapely.union_all(parts) for bank, parts in pieces.items()}
