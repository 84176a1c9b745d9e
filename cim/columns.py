"""Finding a source's columns by their usual names, and reading numbers written as text.

City files name the same thing many ways (``name``, ``NAME``, ``名称``; ``height``, ``高度``, ``建筑高度``)
and write numbers as text ("12.5米", "5层", "0", ""). :func:`find_column` picks the column for a meaning
from a list of names (case-insensitive, first match wins); :func:`numbers` reads the numbers out, with
NaN for what has none.

>>> numbers(pd.Series(["12.5米", "5层", "", None, "约30", "0"])).tolist()
[12.5, 5.0, nan, nan, 30.0, 0.0]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

NAME = ("name", "名称", "name:zh", "name_zh", "单位名称", "机构名称", "建筑名称", "mc", "dwmc", "jzmc", "xzqmc", "dmmc")
CODE = ("code", "adcode", "区划代码", "代码", "quhuadaima", "xzqdm", "bm", "编码", "gbcode", "dm")
HEIGHT = ("height", "高度", "建筑高度", "jzgd", "gd", "bldg_height", "height_m")
FLOORS = ("floors", "层数", "楼层数", "building:levels", "levels", "cs", "jzcs", "storeys")
USE = ("use", "用途", "building", "kind_detail", "kind", "yt", "type", "类型")
ADDRESS = ("address", "地址", "标准地址", "addr", "dz", "full_address", "addr:full")
ROAD_CLASS = ("highway", "road_class", "kind_detail", "kind", "道路等级", "等级", "type", "fclass", "class")
ID = ("id", "osm_id", "osm_way_id", "objectid", "fid", "编号", "bh")

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def find_column(frame: pd.DataFrame, names: Sequence[str], *, exclude: Sequence[str] = ()) -> str | None:
    """The first column whose name is one of ``names`` (case and surrounding spaces ignored)."""
    lower = {str(c).strip().lower(): c for c in frame.columns if c != "geometry" and c not in exclude}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def numbers(values: pd.Series) -> pd.Series:
    """The first number written in each value (text or numeric), as float; NaN where there is none."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float)
    text = values.astype("string").str.replace(",", "", regex=False)
    found = text.str.extract(f"({_NUMBER.pattern})", expand=False)
    return pd.to_numeric(found, errors="coerce").astype(float)


def text(values: pd.Series) -> pd.Series:
    """Values as trimmed text; blank and missing become null."""
    out = values.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def digits(values: pd.Series) -> pd.Series:
    """Codes as text of digits: numbers written as 420102.0 lose the ``.0``; anything else is kept for the check."""
    out = text(values)
    return out.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def osm_tags(other_tags: pd.Series, key: str) -> pd.Series:
    """One tag's value from the OSM driver's ``other_tags`` column (``"height"=>"12","building:levels"=>"4"``)."""
    pattern = r'"' + re.escape(key) + r'"=>"([^"]*)"'
    return other_tags.astype("string").str.extract(pattern, expand=False)


def first_present(*columns: pd.Series | None) -> pd.Series | None:
    """Each row's first non-null value across the columns given (None for a column that is absent)."""
    present = [c for c in columns if c is not None]
    if not present:
        return None
    out = present[0].copy()
    for c in present[1:]:
        out = out.fillna(c)
    return out


def is_blank(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy() | (values.astype("string").str.strip() == "").fillna(True).to_numpy()
