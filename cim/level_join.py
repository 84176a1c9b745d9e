"""Codes at the seven levels for records that come without them: a vectorised spatial join.

Each record's point (a point, or a shape's representative point) is joined to the finest boundaries the
city has (compounds, then grids, communities, streets, districts): the unit it falls in gives every code
down to that unit's level, by prefix (see :mod:`cim.levels`). A point in no unit at all is reported by
its position. No Python loop runs per record: geopandas joins whole arrays through an STR-tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.levels import CITY_CODE, Level

UNIT_LEVELS = (Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID, Level.COMPOUND)


class LevelError(ValueError):
    """Codes that contradict each other or the shapes they name."""


@dataclass(frozen=True)
class Units:
    """The boundaries the city has, by level (GeoDataFrames in WGS84 with a ``code`` and a ``name`` column)."""

    by_level: Mapping[Level, gpd.GeoDataFrame] = field(default_factory=dict)

    @property
    def levels(self) -> tuple[Level, ...]:
        return tuple(lv for lv in UNIT_LEVELS if lv in self.by_level and len(self.by_level[lv]))

    def finest(self, at_most: Level = Level.COMPOUND) -> Level | None:
        known = [lv for lv in self.levels if lv <= at_most]
        return max(known) if known else None


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside each shape (a point stays itself; a line gives its middle)."""
    geoms = np.asarray(geoms, dtype=object)
    kinds = shapely.get_type_id(geoms)
    lines = np.isin(kinds, (1, 5))
    out = shapely.point_on_surface(geoms)
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return out


def assign_codes(points: np.ndarray, units: Units, *, finest: Level = Level.COMPOUND) -> pd.DataFrame:
    """For each point, its codes from the finest unit that holds it (nullable columns, city to ``finest``).

    Also a ``known_level`` column: the level of the unit that held it (0 where no unit does).
    """
    points = np.asarray(points, dtype=object)
    n = len(points)
    levels = [lv for lv in units.levels if lv <= finest]
    codes = np.full(n, None, dtype=object)
    known = np.zeros(n, dtype=np.int8)
    todo = np.ones(n, dtype=bool)
    for level in sorted(levels, reverse=True):
        if not todo.any():
            break
        frame = units.by_level[level]
        left = gpd.GeoDataFrame({"i": np.flatnonzero(todo)}, geometry=points[todo], crs=frame.crs)
        hits = gpd.sjoin(left, frame[["code", "geometry"]], how="inner", predicate="intersects")
        hits = hits[~hits["i"].duplicated(keep="first")]  # on a shared edge: the first unit
        idx = hits["i"].to_numpy()
        codes[idx] = hits["code"].astype(str).to_numpy()
        known[idx] = int(level)
        todo[idx] = False
    out = pd.DataFrame({Level.CITY.column: pd.array(np.where(known > 0, CITY_CODE, None), dtype="string")})
    for level in Level:
        if level is Level.CITY or level > finest:
            continue
        values = np.full(n, None, dtype=object)
        deep = known >= int(level)
        values[deep] = [c[: level.digits] for c in codes[deep]]
        out[level.column] = pd.array(values, dtype="string")
    out["known_level"] = known
    return out


def check_inside_parents(units: gpd.GeoDataFrame, level: Level, known: Units, *, where: str) -> list[str]:
    """Units whose code names a parent they do not lie in (by their representative point), as messages."""
    parent_level = Level(int(level) - 1)
    parents = known.by_level.get(parent_level)
    if level <= Level.DISTRICT or parents is None or not len(parents):
        return []
    points = representative_points(units.geometry.to_numpy())
    parent_codes = units["code"].astype(str).str[: parent_level.digits].to_numpy()
    shapes = dict(zip(parents["code"].astype(str), parents.geometry, strict=False))
    problems = []
    for i, (code, point) in enumerate(zip(parent_codes, points, strict=True)):
        shape = shapes.get(code)
        if shape is None:
            problems.append(f"{where}: {units['name'].iloc[i]} ({units['code'].iloc[i]}) names "
                            f"{parent_level.name.lower()} {code}, which the city does not have")
        elif not shape.buffer(1e-4).contains(point):
            problems.append(f"{where}: {units['name'].iloc[i]} ({units['code'].iloc[i]}) lies outside its "
                            f"{parent_level.name.lower()} {code}")
    return problems
