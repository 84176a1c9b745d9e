"""Colours computed on the server: each feature gets an index into a palette, and the legend is drawn
from that same palette, so the map and its legend cannot disagree.

A :class:`Colours` holds one uint8 index per feature, the palette (RGBA, at most 256 entries) and
the :class:`Legend`. The browser only looks colours up (``palette[index[i]]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cim.vocabulary import Vocabulary

#: Light yellow to deep red, for counts (ColorBrewer YlOrRd stops).
RAMP_STOPS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 178), (254, 204, 92), (253, 141, 60), (240, 59, 32), (189, 0, 38),
)
#: For features with nothing to count (a building nobody lives in).
NONE_COLOUR: tuple[int, int, int] = (120, 130, 145)
RAMP_STEPS = 255  # palette entries 1..255 are the ramp; entry 0 is "none"


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: tuple[int, int, int, int]


@dataclass(frozen=True)
class Legend:
    """What the colours mean: swatches, and for a ramp its colours and labels at both ends."""

    title: str
    items: tuple[LegendItem, ...] = ()
    ramp: tuple[tuple[int, int, int, int], ...] = ()
    ramp_labels: tuple[str, str] = ("", "")

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "items": [{"label": i.label, "colour": list(i.colour)} for i in self.items],
            "ramp": [list(c) for c in self.ramp],
            "rampLabels": list(self.ramp_labels),
        }


@dataclass(frozen=True)
class Colours:
    index: np.ndarray  # uint8, one per feature
    palette: tuple[tuple[int, int, int, int], ...]
    legend: Legend

    def rgba(self) -> np.ndarray:
        """Each feature's colour, (n, 4) uint8, as the browser draws it."""
        return np.asarray(self.palette, dtype=np.uint8)[self.index]


def ramp_colour(t: np.ndarray | float) -> np.ndarray:
    """Colours along the ramp for ``t`` in [0, 1] (linear between the stops), (n, 3) uint8."""
    t = np.clip(np.asarray(t, dtype=float), 0, 1) * (len(RAMP_STOPS) - 1)
    i = np.minimum(np.floor(t).astype(int), len(RAMP_STOPS) - 2)
    f = (t - i)[..., None]
    stops = np.asarray(RAMP_STOPS, dtype=float)
    return np.round(stops[i] + f * (stops[i + 1] - stops[i])).astype(np.uint8)


def categorical(index: np.ndarray, vocabulary: Vocabulary, *, title: str, alpha: int = 255) -> Colours:
    """One colour per vocabulary term; ``index`` is each feature's term index."""
    palette = tuple((*t.colour, alpha) for t in vocabulary.terms)
    items = tuple(LegendItem(f"{t.label_zh} {t.code}", p) for t, p in zip(vocabulary.terms, palette, strict=True))
    return Colours(np.asarray(index, dtype=np.uint8), palette, Legend(title, items))


def sequential(values: np.ndarray, *, title: str, none_label: str | None = None, alpha: int = 255,
               unit: str = "") -> Colours:
    """A square-root ramp from 0 to the largest value; zeros get the "none" colour when ``none_label`` is set.

    The square root spreads the many small counts of a city over more of the ramp than a linear scale.
    """
    values = np.asarray(values, dtype=float)
    top = float(values.max(initial=0.0)) or 1.0
    steps = np.clip(np.round(np.sqrt(np.clip(values, 0, None) / top) * (RAMP_STEPS - 1)), 0, RAMP_STEPS - 1)
    index = (1 + steps).astype(np.uint8)
    if none_label is not None:
        index[values <= 0] = 0
    ramp = ramp_colour(np.arange(RAMP_STEPS) / (RAMP_STEPS - 1))
    palette = ((*NONE_COLOUR, alpha), *((int(r), int(g), int(b), alpha) for r, g, b in ramp))
    sampled = tuple(palette[1 + k] for k in np.linspace(0, RAMP_STEPS - 1, 9).round().astype(int))
    items = (LegendItem(none_label, palette[0]),) if none_label is not None else ()
    return Colours(index, palette, Legend(title, items, sampled, ("0", f"{top:,.0f}{unit}")))
