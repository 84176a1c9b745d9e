"""Place names for the synthetic city: streets, communities, roads and compounds.

Names are two characters drawn from common Wuhan place-name characters plus a suffix for the kind
of place. Each call gives distinct names, so all the streets of a city (or all its communities, or
compounds) differ from each other, not only from their siblings; the same seed gives the same names.
"""

from __future__ import annotations

import numpy as np

_FIRST = tuple("汉江珞武晴民水花黄中南北东西新古龙凤长青梅桃桂丹兴和德安宁平永福友建光明华泰丰盛")
_SECOND = tuple("阳口湖山林桥园港洲岭岸湾堤门坊台湾川云塘河苑城亭庄府里源泉景")

STREET_SUFFIX = "街道"
COMMUNITY_SUFFIX = "社区"
ROAD_SUFFIXES = ("路", "街", "大道")
COMPOUND_SUFFIXES = ("花园", "家园", "小区", "公寓", "苑", "新村", "佳园", "名邸", "雅居", "新城")


def unique_names(rng: np.random.Generator, count: int, suffixes: tuple[str, ...]) -> list[str]:
    """``count`` distinct names, each two characters and one of ``suffixes``.

    A name drawn again gets a phase number (期) before its suffix: 桂园花园, then 桂园2期花园,
    桂园3期花园...
    """
    first = rng.integers(0, len(_FIRST), size=count)
    second = rng.integers(0, len(_SECOND), size=count)
    suffix = rng.integers(0, len(suffixes), size=count)
    names: list[str] = []
    seen: set[str] = set()
    for a, b, s in zip(first.tolist(), second.tolist(), suffix.tolist(), strict=True):
        stem = _FIRST[a] + _SECOND[b]
        name = stem + suffixes[s]
        phase = 2
        while name in seen:
            name = f"{stem}{phase}期{suffixes[s]}"
            phase += 1
        seen.add(name)
        names.append(name)
    return names
