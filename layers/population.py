"""The population layer: residents counted in H3 cells at a fine resolution and rolled up to coarser ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.cells import CellError, cells_to_parents, points_to_cells

DEFAULT_RESOLUTION = 9
DEFAULT_COARSER = (8, 7, 6, 5)


@dataclass(frozen=True)
class PopulationLayer:
    """Residents per H3 cell, at several resolutions.

    ``table`` has one row per occupied cell and resolution: ``resolution`` (int8), ``cell`` (uint64),
    ``residents`` (int64). Every resolution sums to the same total.
    """

    table: pd.DataFrame

    def __post_init__(self) -> None:
        missing = {"resolution", "cell", "residents"} - set(self.table.columns)
        if missing:
            raise CellError(f"a population layer table needs the columns {sorted(missing)}")

    @property
    def resolutions(self) -> tuple[int, ...]:
        return tuple(sorted(int(r) for r in self.table["resolution"].unique()))

    def at(self, resolution: int) -> pd.DataFrame:
        """The cells and residents at one resolution, sorted by cell (none at all for an empty layer)."""
        if len(self.table) == 0:
            return self.table[["cell", "residents"]].reset_index(drop=True)
        if resolution not in self.resolutions:
            raise CellError(
                f"the population layer has no resolution {resolution}; it has {list(self.resolutions)}"
            )
        rows = self.table[self.table["resolution"] == resolution]
        return rows[["cell", "residents"]].reset_index(drop=True)

    @property
    def total(self) -> int:
        """Residents in the layer (the same at every resolution); 0 for an empty layer."""
        if not self.resolutions:
            return 0
        return int(self.at(max(self.resolutions))["residents"].sum())


def count_cells(cells: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct cells (sorted) and the count, or the sum of ``weights``, in each."""
    if weights is None:
        unique, counts = np.unique(cells, return_counts=True)
        return unique, counts.astype(np.int64)
    unique, inverse = np.unique(cells, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique)).astype(np.int64)


class PopulationCounter:
    """Residents per H3 cell, counted batch by batch (a table too big to index in one go).

    >>> counter = PopulationCounter()
    >>> counter.add(np.array([114.3]), np.array([30.58]))
    >>> counter.layer().total
    1
    """

    def __init__(self, resolution: int = DEFAULT_RESOLUTION) -> None:
        self.resolution = resolution
        self._cells: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def add(self, lon: np.ndarray, lat: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Count one batch of residents (or places, each ``weights`` residents)."""
        if weights is not None:
            weights = np.asarray(weights)
            if len(weights) != len(lon):
                raise CellError(f"got {len(weights)} weights for {len(lon)} points; give one weight per point")
            wrong = ~np.isfinite(weights) | (weights < 0) | (weights != np.round(weights))
            if wrong.any():
                i = int(np.flatnonzero(wrong)[0])
                raise CellError(
                    f"weights count residents, so they must be whole numbers from 0 up; "
                    f"weight {i} is {weights[i]!r}"
                )
        cells, counts = count_cells(points_to_cells(lon, lat, self.resolution), weights)
        self._cells.append(cells)
        self._counts.append(counts)

    def layer(self, coarser: tuple[int, ...] = DEFAULT_COARSER) -> PopulationLayer:
        """The counts so far at the counter's resolution, rolled up to ``coarser``."""
        coarser = tuple(sorted(set(coarser), reverse=True))
        bad = sorted(r for r in coarser if r >= self.resolution)
        if bad:
            raise CellError(f"roll-up resolutions {bad} are not coarser than the layer's resolution {self.resolution}")
        if self._cells:
            cells, counts = count_cells(np.concatenate(self._cells), np.concatenate(self._counts))
        else:
            cells, counts = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
        occupied = counts > 0
        cells, counts = cells[occupied], counts[occupied]
        parts = [_part(self.resolution, cells, counts)]
        for res in coarser:
            parents, sums = count_cells(cells_to_parents(cells, res), counts)
            parts.append(_part(res, parents, sums))
        return PopulationLayer(pd.concat(parts, ignore_index=True))


def build_population_layer(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    coarser: tuple[int, ...] = DEFAULT_COARSER,
    weights: np.ndarray | None = None,
) -> PopulationLayer:
    """Count residents (one lon/lat each) per H3 cell at ``resolution``, then roll up to ``coarser``.

    Coarser resolutions hold the H3 parents of the fine cells (H3 children do not tile their parent
    exactly, so this can differ from indexing the points again at the coarser resolution); every
    resolution therefore sums to the same total.

    ``weights`` counts each point that many times: residents who share a place (a building) can be
    indexed once per place, with the number living there as the weight.

    No Python loop runs per resident: cells come from h3ronpy over whole arrays, counts from one sort,
    and each coarser resolution from bit operations on the (far fewer) occupied fine cells.
    """
    coarser = tuple(sorted(set(coarser), reverse=True))
    bad = sorted(r for r in coarser if r >= resolution)
    if bad:
        raise CellError(f"roll-up resolutions {bad} are not coarser than the layer's resolution {resolution}")
    counter = PopulationCounter(resolution)
    counter.add(lon, lat, weights)
    return counter.layer(coarser)


def _part(resolution: int, cells: np.ndarray, residents: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resolution": np.full(len(cells), resolution, dtype=np.int8),
            "cell": cells.astype(np.uint64),
            "residents": residents.astype(np.int64),
        }
    )
