"""The seven administrative levels and their hierarchical codes.

Every record carries one code per level. Codes are prefixes of each other, so the code of a
building contains the codes of its compound, grid, community, street and district:

=========  ======  ====================  =========================
level      digits  example               made of
=========  ======  ====================  =========================
city       6       420100                GB/T 2260 city code
district   6       420106                GB/T 2260 county code
street     9       420106003             district + 3 (GB/T 10114)
community  12      420106003012          street + 3
grid       14      42010600301204        community + 2
compound   17      42010600301204007     grid + 3
building   20      42010600301204007002  compound + 3
=========  ======  ====================  =========================

Roll-ups up the levels are therefore group-bys on a code column, never spatial joins.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

CITY_CODE = "420100"


class Level(IntEnum):
    """One of the seven levels, coarsest first."""

    CITY = 1
    DISTRICT = 2
    STREET = 3
    COMMUNITY = 4
    GRID = 5
    COMPOUND = 6
    BUILDING = 7

    @property
    def digits(self) -> int:
        """How many characters a code at this level has."""
        return _DIGITS[self]

    @property
    def column(self) -> str:
        """The name of the column that holds this level's code in every table."""
        return f"{self.name.lower()}_code"

    @property
    def label_zh(self) -> str:
        return _LABEL_ZH[self]


_DIGITS = {
    Level.CITY: 6,
    Level.DISTRICT: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
    Level.GRID: 14,
    Level.COMPOUND: 17,
    Level.BUILDING: 20,
}
_LABEL_ZH = {
    Level.CITY: "市",
    Level.DISTRICT: "区",
    Level.STREET: "街道",
    Level.COMMUNITY: "社区",
    Level.GRID: "网格",
    Level.COMPOUND: "小区",
    Level.BUILDING: "楼栋",
}

LEVEL_COLUMNS: tuple[str, ...] = tuple(level.column for level in Level)


class CodeError(ValueError):
    """A level code that is malformed or does not belong to the level asked for."""


def level_of(code: str) -> Level:
    """The level a code belongs to, from its length.

    >>> level_of("420106003")
    <Level.STREET: 3>
    """
    if not (code.isascii() and code.isdigit()):
        raise CodeError(
            f"level code {code!r} has characters other than the digits 0-9 (full-width digits too); "
            f"codes are 6 to 20 ASCII digits"
        )
    if code == CITY_CODE:
        return Level.CITY
    for level in Level:
        if level is not Level.CITY and len(code) == level.digits:
            return level
    lengths = sorted({lv.digits for lv in Level})
    raise CodeError(f"level code {code!r} has {len(code)} digits; a level code has one of {lengths}")


def code_at(code: str, level: Level) -> str:
    """The code, at a coarser (or the same) level, of the unit that contains ``code``.

    >>> code_at("42010600301204007002", Level.COMMUNITY)
    '420106003012'
    """
    own = level_of(code)
    if level > own:
        raise CodeError(f"code {code!r} is a {own.name.lower()} code; it has no {level.name.lower()} code")
    if level is Level.CITY:
        return CITY_CODE
    return code[: level.digits]


def codes_for(code: str) -> dict[str, str]:
    """All the level codes of ``code`` and every level above it, keyed by column name."""
    own = level_of(code)
    return {lv.column: code_at(code, lv) for lv in Level if lv <= own}


def level_columns(codes: np.ndarray, level: Level) -> dict[str, np.ndarray]:
    """Vectorised :func:`codes_for`: for codes all at ``level``, one column per level down to it."""
    codes = np.asarray(codes, dtype=str)
    out = {Level.CITY.column: np.full(len(codes), CITY_CODE)}
    for lv in Level:
        if Level.CITY < lv <= level:
            out[lv.column] = codes if lv is level else codes.astype(f"<U{lv.digits}")
    return out
