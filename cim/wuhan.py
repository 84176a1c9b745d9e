"""Reference facts about Wuhan that the demo city is built on.

District codes are the GB/T 2260 codes; centres are the centroids of the real district areas
(rounded to 0.01°); residents are the 7th census (2020) counts in ten-thousands, used as weights.
The rivers and East Lake are drawn coarsely, close enough that the city reads as Wuhan.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Bank(Enum):
    """The three towns of Wuhan (武汉三镇), split by the Yangtze and the Han."""

    HANKOU = "汉口"  # north of the Han, west/north of the Yangtze
    HANYANG = "汉阳"  # south of the Han, west of the Yangtze
    WUCHANG = "武昌"  # east/south of the Yangtze


@dataclass(frozen=True)
class District:
    code: str
    name_zh: str
    name_en: str
    lon: float
    lat: float
    residents_10k: float
    bank: Bank
    core: bool  # one of the seven central districts

    def __post_init__(self) -> None:
        if not (len(self.code) == 6 and self.code.startswith("4201")):
            raise ValueError(f"district code {self.code!r} is not a Wuhan county code (4201xx)")
        if not (113.6 <= self.lon <= 115.1 and 29.9 <= self.lat <= 31.4):
            raise ValueError(f"district {self.name_zh} centre ({self.lon}, {self.lat}) is outside Wuhan")


DISTRICTS: tuple[District, ...] = (
    District("420102", "江岸区", "Jiang'an", 114.32, 30.64, 96.5, Bank.HANKOU, True),
    District("420103", "江汉区", "Jianghan", 114.26, 30.60, 64.8, Bank.HANKOU, True),
    District("420104", "硚口区", "Qiaokou", 114.21, 30.60, 66.7, Bank.HANKOU, True),
    District("420105", "汉阳区", "Hanyang", 114.21, 30.54, 83.7, Bank.HANYANG, True),
    District("420106", "武昌区", "Wuchang", 114.34, 30.55, 128.2, Bank.WUCHANG, True),
    District("420107", "青山区", "Qingshan", 114.45, 30.61, 52.6, Bank.WUCHANG, True),
    District("420111", "洪山区", "Hongshan", 114.43, 30.53, 165.7, Bank.WUCHANG, True),
    District("420112", "东西湖区", "Dongxihu", 114.08, 30.69, 85.3, Bank.HANKOU, False),
    District("420113", "汉南区", "Hannan", 113.96, 30.29, 14.6, Bank.HANYANG, False),
    District("420114", "蔡甸区", "Caidian", 113.97, 30.45, 55.5, Bank.HANYANG, False),
    District("420115", "江夏区", "Jiangxia", 114.36, 30.24, 97.5, Bank.WUCHANG, False),
    District("420116", "黄陂区", "Huangpi", 114.36, 30.98, 115.2, Bank.HANKOU, False),
    District("420117", "新洲区", "Xinzhou", 114.75, 30.80, 86.1, Bank.HANKOU, False),
)

#: The city centre the density falls off from: the confluence at 龙王庙 / the Yangtze bridge.
CITY_CENTRE = (114.29, 30.58)
#: Secondary urban centres (name, lon, lat, strength 0-1): high-rise clusters away from the confluence.
SUB_CENTRES: tuple[tuple[str, float, float, float], ...] = (
    ("光谷", 114.40, 30.505, 0.8),  # Optics Valley, 洪山/东湖高新
    ("后湖", 114.30, 30.665, 0.5),  # north Hankou
    ("沌口", 114.16, 30.49, 0.5),  # Zhuankou, 经开区
)
#: Residents of Wuhan at full scale (about 13.7 million).
CITY_RESIDENTS = 13_700_000
#: Buildings at full scale.
CITY_BUILDINGS = 300_000

#: A coarse outline of the municipality (lon, lat), counter-clockwise.
CITY_OUTLINE: tuple[tuple[float, float], ...] = (
    (114.53, 29.97), (114.64, 30.47), (115.08, 30.88), (114.98, 31.03), (114.80, 31.00),
    (114.52, 31.14), (114.43, 31.31), (114.28, 31.36), (114.18, 31.27), (114.16, 31.02),
    (113.91, 30.76), (113.71, 30.38), (113.82, 30.18), (114.17, 30.09), (114.21, 30.00),
)

#: The Yangtze's course through the city, upstream (south-west) to downstream (east).
YANGTZE: tuple[tuple[float, float], ...] = (
    (113.60, 29.95), (113.85, 30.05), (114.02, 30.18), (114.10, 30.30), (114.15, 30.40),
    (114.22, 30.48), (114.265, 30.53), (114.29, 30.56), (114.31, 30.60), (114.36, 30.65),
    (114.42, 30.68), (114.50, 30.665), (114.58, 30.63), (114.70, 30.55), (114.85, 30.45),
    (115.20, 30.30),
)
#: Width of the Yangtze at Wuhan, metres.
YANGTZE_WIDTH_M = 1100.0

#: The Han's course, from the west edge of the city to its mouth at 龙王庙.
HAN: tuple[tuple[float, float], ...] = (
    (113.55, 30.64), (113.75, 30.61), (113.90, 30.60), (114.00, 30.58), (114.10, 30.585),
    (114.17, 30.585), (114.23, 30.572), (114.28, 30.563), (114.295, 30.562),
)
HAN_WIDTH_M = 350.0

#: East Lake (东湖), about 33 km².
EAST_LAKE: tuple[tuple[float, float], ...] = (
    (114.365, 30.560), (114.375, 30.585), (114.400, 30.595), (114.425, 30.585),
    (114.440, 30.565), (114.430, 30.540), (114.405, 30.535), (114.385, 30.545),
)

