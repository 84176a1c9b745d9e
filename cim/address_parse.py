"""Chinese address text, normalised and split into its parts: district, street, road, door, compound, building...

A standard address (标准地址) reads from the largest unit to the smallest::

    湖北省武汉市 江汉区 盛口街道 (民河社区) 新岭街 7号 花林花园 1栋 2单元 1203室
    province/city district street (community) road door compound building unit room

People write the same address in many ways, so text is first brought to one form (:func:`normalize_addresses`):

- full-width letters, digits and punctuation become half-width (Unicode NFKC), letters upper case;
- spaces, punctuation, bracketed remarks ``(东门)`` and filler words (附近, 旁边, 对面 ...) are dropped, and so is
  a gate (东门, 北侧) at the end or before the building number;
- Chinese numerals before a unit word become Arabic: 十二栋 → 12栋, 二单元 → 2单元, 一二零三室 → 1203室, 三期 → 3期;
- 幢, 座 and 号楼 after a number become 栋; a room written 号 or 房 after 单元 becomes 室; ``1-2-1203`` becomes
  1栋2单元1203室; leading zeros go (02单元 → 2单元); a bare 武汉 at the start becomes 武汉市, unless it begins a
  road (武汉大道).

Then one regular expression, anchored at both ends and with every part optional, splits it
(:func:`parse_addresses`). Levels may be missing (no district, no street): each part is recognised by its own
marker (区 from the district names, 街道/镇/乡, 社区, the door number's 号, 栋, 单元, 室), the road is whatever
stands before the door number and the compound whatever stands between the door and the building.

Both steps run over whole arrays at once through Arrow's compute kernels (RE2, no Python loop per text); only
the texts that hold Chinese numerals go through a Python callback. A single text goes through the same path:

>>> parse_address("武汉市江汉区新岭街七号 花林花园十二幢二单元一二零三室（东门）")
ParsedAddress(province=None, city='武汉市', district='江汉区', street=None, community=None, road='新岭街', \
number='7', compound='花林花园', building='12', unit='2', room='1203')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cim.wuhan import DISTRICTS

__all__ = [
    "DISTRICT_NAMES",
    "FIELDS",
    "ParsedAddress",
    "chinese_to_int",
    "extract_parts",
    "normalize_addresses",
    "parse_address",
    "parse_addresses",
    "strip_city_prefix",
    "text_array",
]

#: Districts the parser knows by name: the thirteen districts and Wuhan's four functional zones.
DISTRICT_NAMES: tuple[str, ...] = (
    *(d.name_zh for d in DISTRICTS),
    "东湖新技术开发区", "长江新区", "武汉经济技术开发区", "东湖生态旅游风景区",
)

FIELDS: tuple[str, ...] = (
    "province", "city", "district", "street", "community", "road", "number", "compound", "building", "unit", "room",
)


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of one address; a part the text does not give is None. Numbers are strings of ASCII digits."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    number: str | None = None
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None

    def __post_init__(self) -> None:
        for name in ("number", "unit", "room"):
            value = getattr(self, name)
            if value is not None and not (value.isascii() and value.isdigit()):
                raise ValueError(f"ParsedAddress.{name} must be ASCII digits, got {value!r}")

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    def standard_text(self) -> str:
        """The address written in the standard form, from the parts there are."""
        marks = {"number": "号", "building": "栋", "unit": "单元", "room": "室"}
        return "".join(f"{getattr(self, f.name)}{marks.get(f.name, '')}" for f in fields(self)
                       if getattr(self, f.name) is not None)


# --- normalisation --------------------------------------------------------------------------------------------

_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_NUMERAL = f"[{_CN_DIGITS}十百千]+"
_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
# the words a number stands before in an address (longest first, so 单元 is not read as 单)
_COUNTED = "号楼|号房|号|栋|幢|座|单元|室|房|期|层|楼"
_COUNTED_RE = re.compile(f"({_CN_NUMERAL})(?={_COUNTED})")

_BRACKETS = r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|<[^>]*>|〔[^〕]*〕"
_DASHES = r"(\d+)[-~](\d+)[-~](\d+)$"
_PUNCT = r"[\s,.;:!?'\"`、。;:!?·\-—–_/\\|#*~^+=&@]+"
_FILLER_ANYWHERE = "附近|旁边|对面|周边|一带|隔壁|楼下"
_FILLER_AT_END = r"(?:[东南西北]?门口|[东南西北]门|[东南西北]侧|[东南西北]面|里面|这里|那里)+$"
# 花林花园东门1栋: a gate of the compound, not part of its name
_GATE_BEFORE_BUILDING = r"(?:[东南西北]?门口|[东南西北]门|[东南西北]侧)+([0-9A-Z]+栋)"
_BUILDING_WORDS = f"([0-9A-Z]+|{_CN_NUMERAL})(?:号楼|幢|座)"
_ROOM_WORDS = r"单元(\d+)(?:号房|房间|号|房)?$"
_LEADING_ZEROS = r"(^|\D)0+(\d)"
# a bare 武汉 at the start is the city, unless it begins a road: 武汉大道 (a real road), 武汉路
_BARE_CITY = r"^((?:中国)?(?:湖北省?)?)武汉($|[^市大路街巷])"
_CITY_PREFIX = r"^(?:中国)?(?:湖北省?)?(?:武汉市)?"


def chinese_to_int(text: str) -> int:
    """The value of a Chinese numeral: 十二 → 12, 一百零三 → 103, 两千 → 2000, 一二零三 → 1203 (digit by digit).

    >>> chinese_to_int("十二"), chinese_to_int("一二零三"), chinese_to_int("三十")
    (12, 1203, 30)
    """
    if not text or any(c not in _CN_VALUE and c not in _CN_UNIT for c in text):
        raise ValueError(f"{text!r} is not a Chinese numeral of the characters {_CN_DIGITS}十百千")
    if not any(c in _CN_UNIT for c in text):
        return int("".join(str(_CN_VALUE[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _CN_UNIT:
            total += (1 if digit is None else digit) * _CN_UNIT[c]
            digit = None
        else:
            digit = _CN_VALUE[c] if digit is None or _CN_VALUE[c] else digit  # 零 only holds a place
    return total + (digit or 0)


@lru_cache(maxsize=4096)
def _arabic(numeral: str) -> str:
    return str(chinese_to_int(numeral))


def text_array(texts: Iterable[str | None] | pa.Array | pa.ChunkedArray | pd.Series) -> pa.Array:
    """Texts as one Arrow string array, ``""`` for a missing text (None, NaN, or not a string)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(texts, pd.Series | pd.Index | np.ndarray):
        try:
            texts = pa.array(texts, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            texts = pa.array([t if isinstance(t, str) else None for t in texts], type=pa.string())
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if pa.types.is_null(texts.type):
            texts = texts.cast(pa.string())
    elif not isinstance(texts, pa.Array):
        values = [t if isinstance(t, str) else None for t in texts]
        texts = pa.array(values, type=pa.string())
    if pa.types.is_large_string(texts.type) or pa.types.is_string_view(texts.type):
        texts = texts.cast(pa.string())
    if not pa.types.is_string(texts.type):
        raise TypeError(f"address texts must be strings, got an array of {texts.type}")
    return pc.fill_null(texts, "")


def normalize_addresses(texts: Iterable[str | None] | pa.Array | pd.Series) -> pa.Array:
    """Every text brought to the one written form the parser reads (see the module's notes). Nulls become ``""``."""
    s = text_array(texts)
    s = pc.utf8_upper(pc.utf8_normalize(s, "NFKC"))
    s = pc.replace_substring_regex(s, f"{_BRACKETS}|{_FILLER_ANYWHERE}", "")
    s = pc.replace_substring_regex(s, _DASHES, r"\1栋\2单元\3室")
    s = pc.replace_substring_regex(s, _PUNCT, "")
    s = pc.replace_substring_regex(s, _FILLER_AT_END, "")
    s = pc.replace_substring_regex(s, _BARE_CITY, r"\1武汉市\2")
    s = _arabic_numerals(s)
    s = pc.replace_substring_regex(s, _BUILDING_WORDS, r"\1栋")
    s = pc.replace_substring_regex(s, _GATE_BEFORE_BUILDING, r"\1")
    s = pc.replace_substring_regex(s, _ROOM_WORDS, r"单元\1室")
    return pc.replace_substring_regex(s, _LEADING_ZEROS, r"\1\2")


def _arabic_numerals(s: pa.Array) -> pa.Array:
    """Chinese numerals before a counted word made Arabic, through Python only for the texts that have one."""
    has = pc.match_substring_regex(s, f"{_CN_NUMERAL}(?:{_COUNTED})")
    if not pc.any(has).as_py():
        return s
    fixed = [_COUNTED_RE.sub(lambda m: _arabic(m.group(1)), t) for t in s.filter(has).to_pylist()]
    return pc.replace_with_mask(s, has, pa.array(fixed, type=pa.string()))


def strip_city_prefix(normalized: pa.Array) -> pa.Array:
    """Normalised texts without a leading 中国/湖北省/武汉市: the key exact matching compares."""
    return pc.replace_substring_regex(normalized, _CITY_PREFIX, "")


# --- parsing --------------------------------------------------------------------------------------------------

def _pattern() -> str:
    districts = "|".join(sorted(DISTRICT_NAMES, key=len, reverse=True))
    return (
        r"^(?:中国)?(?P<province>湖北省?)?(?P<city>武汉市)?"
        f"(?P<district>{districts})?"
        # a street or community name may hold a phase too (珞云2期街道)
        r"(?P<street>[^\d区]*?(?:\d+期[^\d区]*?)?(?:街道|乡|[^小\d]镇))?"
        r"(?P<community>\D*?(?:\d+期\D*?)?社区)?"
        # the road: what stands before the door number (a name may hold a phase, 汉阳2期大道)
        r"(?:(?P<road>\D*?(?:\d+期\D*?)?)(?P<number>\d+)号)?"
        r"(?P<compound>.*?)"
        r"(?:(?P<building>[0-9A-Z]+)栋)?"
        r"(?:(?P<unit>\d+)单元)?"
        r"(?:(?P<room>\d+)室)?"
        # trailing digits without a marker: the building, or the room after a building or unit
        r"(?P<bare>\d+)?$"
    )


PATTERN = _pattern()


def parse_addresses(texts: Iterable[str | None] | pa.Array | pd.Series, *, normalized: bool = False) -> pd.DataFrame:
    """The parts of each text, one row per text and one column per field of :class:`ParsedAddress` (None if absent).

    ``normalized=True`` skips normalisation for texts that went through :func:`normalize_addresses` already.
    """
    s = text_array(texts) if normalized else normalize_addresses(texts)
    parts = extract_parts(s)
    return pd.DataFrame({name: parts.field(name).to_pandas(types_mapper=pd.ArrowDtype).astype(object)
                         .where(lambda c: c.notna(), None) for name in FIELDS})


def extract_parts(normalized: pa.Array) -> pa.StructArray:
    """The parts of normalised texts as an Arrow struct array with one string field per name in :data:`FIELDS`,
    null where a part is absent."""
    parts = pc.extract_regex(normalized, PATTERN)
    columns = {}
    for name in (*FIELDS, "bare"):
        column = pc.struct_field(parts, name)
        columns[name] = pc.if_else(pc.equal(column, ""), None, column)
    bare, building, unit, room = columns.pop("bare"), columns["building"], columns["unit"], columns["room"]
    if bare.null_count < len(bare):
        alone = pc.and_(pc.is_null(building), pc.and_(pc.is_null(unit), pc.is_null(room)))
        columns["building"] = pc.if_else(alone, bare, building)
        columns["room"] = pc.if_else(pc.and_(pc.invert(alone), pc.is_null(room)), bare, room)
    return pa.StructArray.from_arrays(list(columns.values()), names=list(FIELDS))


def parse_address(text: str) -> ParsedAddress:
    """The parts of one address text."""
    row = extract_parts(normalize_addresses([text]))[0].as_py()
    return ParsedAddress(**row)
