"""How big a demo city is: ``small`` renders fast, ``city`` is Wuhan's full scale."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from cim.wuhan import CITY_BUILDINGS, CITY_RESIDENTS

URBAN_LENGTH_M = 6000.0  # how fast high-rise gives way to low-rise away from the centre


class DemoCityError(ValueError):
    """A demo city that cannot be made from the options given, with the reason and what to change."""


class Scale(StrEnum):
    SMALL = "small"
    CITY = "city"


@dataclass(frozen=True)
class ScaleSpec:
    """How big a demo city is and how its units nest."""

    buildings: int
    residents: int
    compounds_per_grid: float
    grids_per_community: float
    communities_per_street: float
    spread_m: float  # e-folding distance of the density of compounds around the centre
    #: 0: compounds crowd the centre (a small city is its core); 1: each district gets buildings in
    #: proportion to its census residents (the full-scale city)
    census_weighting: float = 0.0

    def __post_init__(self) -> None:
        if self.buildings < 1:
            raise DemoCityError(f"a demo city needs at least one building, got {self.buildings}")
        if self.residents < 0:
            raise DemoCityError(f"residents must be zero or more, got {self.residents}")


def scale_spec(scale: Scale | str, *, buildings: int | None = None) -> ScaleSpec:
    """The size of a demo city: ``small`` renders fast, ``city`` is Wuhan's full scale.

    ``buildings`` overrides the number of buildings (residents follow at Wuhan's ratio).
    """
    try:
        scale = Scale(scale)
    except ValueError:
        raise DemoCityError(f"unknown demo scale {scale!r}; use one of: small, city") from None
    n = buildings if buildings is not None else (4000 if scale is Scale.SMALL else CITY_BUILDINGS)
    residents = round(CITY_RESIDENTS * n / CITY_BUILDINGS)
    if scale is Scale.CITY:
        return ScaleSpec(n, residents, 3.0, 4.0, 16.0, spread_m=URBAN_LENGTH_M, census_weighting=1.0)
    spread = max(900.0, URBAN_LENGTH_M * math.sqrt(n / CITY_BUILDINGS))
    return ScaleSpec(n, residents, 3.0, 4.0, 5.0, spread_m=spread)
