"""The demo city's roads: a street network that runs between the compounds, never through them.

The streets are the edges of the Voronoi diagram of the compound sites, in the local metric frame. The
compounds stand on a lattice (cim/compounds.py), and so that an empty lot next to a compound does not
bend the streets around it into an octagon, its lattice site joins the diagram too: near the compounds
the edges then make the lattice's own grid of blocks, each edge halfway between two sites, in the gap
between two compounds or between a compound and an empty lot. Edges are kept where they are at most
``REACH_M`` from their two sites (the sides of their lattice cells: a grid that runs one block past the
built-up area) and on land, and dropped if they touch a compound at all.

Every compound fronts one named road (cim/synthetic.py), and each edge takes a road one of its compounds
fronts: an edge beside one compound, or between two on the same road, takes theirs; an edge between two
compounds on different roads goes to one that has no edge of its own road yet, else to the road of the
edge before or after it on the same straight street; an edge between empty lots continues the road of
the nearest such edge. Each road is then its edges merged into lines, so every road an address names
runs along the compounds that front it. The road's class follows its name: 大道 are primary roads, 路
secondary or tertiary, 街 tertiary.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from cim.compounds import SITE_SPACING_M
from cim.demo_scale import DemoCityError
from cim.levels import Level, level_columns
from cim.local_frame import WGS84, geometry_to_wgs84

REACH_M = SITE_SPACING_M / np.sqrt(2) + 1.0  # an edge runs this far from its sites: the sides of their lattice cells
SHORTEST_M = 15.0  # shorter pieces of edge (lattice corners, ends cut by the shore) are dropped
FRONT_M = 95.0  # half the length of the frontage road of a compound that no edge serves
SNAP_M = 1e-3  # edge end points are matched between Voronoi cells on this grid
MAX_ROUNDS = 12  # of compounds without their road taking an edge
SEGMENT_M = 250.0  # longest line piece before going back to lon/lat
NEIGHBOURS = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if i or j], dtype=float) * SITE_SPACING_M


def road_class(names: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The class of each road from the suffix of its name."""
    names = np.asarray(names).astype(str)
    avenue = np.char.endswith(names, "大道")
    road = np.char.endswith(names, "路")
    minor = rng.random(len(names)) < 0.5
    return np.where(avenue, "primary", np.where(road & ~minor, "secondary", "tertiary"))


def lay_roads(
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    compound_road: np.ndarray,
    road_names: np.ndarray,
    road_street_codes: np.ndarray,
    rng: np.random.Generator,
    *,
    land: shapely.Geometry,
    outlines: np.ndarray,
) -> gpd.GeoDataFrame:
    """One row per road that at least one compound fronts: its edges of the street network, merged into lines.

    ``x``, ``y``, ``angle`` are the compounds' centres and turns (local metres, radians), ``compound_road`` the
    road each fronts (an index into ``road_names`` and ``road_street_codes``), ``outlines`` their footprints and
    ``land`` the dry land, both in the local frame. ``rng`` draws the road classes, and the network's own draws
    come from a stream spawned from it, so that what is drawn from ``rng`` afterwards does not change.
    """
    x, y, angle = (np.asarray(v, dtype=float) for v in (x, y, angle))
    compound_road = np.asarray(compound_road, dtype=np.int64)
    n = len(x)
    sx, sy = _with_empty_lots(x, y)
    site_road = np.concatenate([compound_road, np.full(len(sx) - n, -1)])
    a, b, p, q = _voronoi_edges(sx, sy, land)
    a, b, p, q = _near_sites(a, b, p, q, sx, sy)
    segments, p, q = _on_land(a, b, p, q, land)
    keep = ~_touches_any(segments, outlines) & ~_dead_ends_between_lots(segments, p >= n)
    segments, p, q = segments[keep], p[keep], q[keep]
    road = _name_edges(segments, site_road[p], site_road[q], p, q, n, rng.spawn(1)[0])
    named = road >= 0
    segments, p, q, road = segments[named], p[named], q[named], road[named]

    served = np.zeros(len(sx), dtype=bool)
    served[p[road == site_road[p]]] = True
    served[q[road == site_road[q]]] = True
    lonely = np.flatnonzero(~served[:n])
    front, front_of = _frontage(x[lonely], y[lonely], angle[lonely], land)
    segments = np.concatenate([segments, front])
    road = np.concatenate([road, compound_road[lonely[front_of]]])

    roads, edge_road = np.unique(road, return_inverse=True)
    fronted = np.unique(compound_road)
    if not np.array_equal(roads, fronted):
        missing = np.asarray(road_names)[np.setdiff1d(fronted, roads)]
        raise DemoCityError(f"no street was laid for {len(missing)} roads that compounds front, e.g. "
                            f"{missing[:3].tolist()}: their compounds lie off the land")
    order = np.argsort(edge_road, kind="stable")
    lines = shapely.multilinestrings(segments[order], indices=edge_road[order])
    lines = shapely.simplify(shapely.line_merge(lines), 0.01)  # straight runs of edges as one piece each
    street_codes = np.asarray(road_street_codes)[roads]
    names = np.asarray(road_names)[roads]
    data = {
        "road_id": np.char.add(street_codes.astype(str), np.char.zfill((roads % 1000).astype(str), 3)),
        "name": names,
        "road_class": road_class(names, rng),
    } | level_columns(street_codes, Level.STREET)
    local = shapely.segmentize(lines, SEGMENT_M)
    return gpd.GeoDataFrame(data, geometry=geometry_to_wgs84(local), crs=WGS84)


def _with_empty_lots(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The compound sites, then the empty lattice sites next to them (their eight neighbours that no compound has)."""
    cx = (x[:, None] + NEIGHBOURS[:, 0]).ravel()
    cy = (y[:, None] + NEIGHBOURS[:, 1]).ravel()
    # sites as one integer each, on a metre grid (the lattice is far coarser)
    ix, iy = np.round(np.concatenate([x, cx])).astype(np.int64), np.round(np.concatenate([y, cy])).astype(np.int64)
    key = (ix - ix.min()) * (1 << 32) + (iy - iy.min())
    unique, first = np.unique(key, return_index=True)
    empty = first[~np.isin(unique, key[: len(x)])] - len(x)
    empty.sort()
    return np.concatenate([x, cx[empty]]), np.concatenate([y, cy[empty]])


def _voronoi_edges(
    x: np.ndarray, y: np.ndarray, land: shapely.Geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The edges between two Voronoi cells: end points ``a``, ``b`` (n, 2) and the sites ``p`` < ``q`` either side."""
    if len(x) < 2:
        empty = np.empty((0, 2))
        return empty, empty, np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    xmin, ymin, xmax, ymax = land.bounds
    frame = shapely.box(min(xmin, x.min()) - 1e3, min(ymin, y.min()) - 1e3, max(xmax, x.max()) + 1e3,
                        max(ymax, y.max()) + 1e3)
    points = shapely.multipoints(np.column_stack([x, y]))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame, ordered=True))
    coords, cell = shapely.get_coordinates(shapely.get_exterior_ring(cells), return_index=True)
    same = cell[1:] == cell[:-1]
    a, b, cell = coords[:-1][same], coords[1:][same], cell[:-1][same]
    # the same edge, found from the cells on both sides of it: its ends in a fixed order, on a fine grid
    flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a, b = np.where(flip[:, None], b, a), np.where(flip[:, None], a, b)
    key = np.round(np.column_stack([a, b]) / SNAP_M).astype(np.int64)
    order = np.lexsort((cell, *key.T[::-1]))
    key, cell = key[order], cell[order]
    pair = np.flatnonzero((key[1:] == key[:-1]).all(axis=1))  # the frame's edges have one cell only
    first = order[pair]
    return a[first], b[first], cell[pair], cell[pair + 1]


def _near_sites(
    a: np.ndarray, b: np.ndarray, p: np.ndarray, q: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each edge cut to its part within ``REACH_M`` of its two sites (it is as far from both); short ones dropped."""
    site = np.column_stack([x[p], y[p]])
    d = b - a
    length2 = np.maximum((d * d).sum(axis=1), 1e-12)
    # |a + s d - site| <= REACH_M for s in [mid - half, mid + half]
    mid = ((site - a) * d).sum(axis=1) / length2
    miss2 = ((a + mid[:, None] * d - site) ** 2).sum(axis=1)
    half = np.sqrt(np.maximum(REACH_M**2 - miss2, 0.0) / length2)
    s0 = np.clip(mid - half, 0.0, 1.0)
    s1 = np.clip(mid + half, 0.0, 1.0)
    keep = (miss2 < REACH_M**2) & ((s1 - s0) * np.sqrt(length2) >= SHORTEST_M)
    return (a + s0[:, None] * d)[keep], (a + s1[:, None] * d)[keep], p[keep], q[keep]


def _on_land(
    a: np.ndarray, b: np.ndarray, p: np.ndarray, q: np.ndarray, land: shapely.Geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges as lines, cut to the land (a river crossing leaves the ends on its banks); short pieces dropped."""
    segments = shapely.linestrings(np.stack([a, b], axis=1))
    shapely.prepare(land)
    inside = shapely.covers(land, segments)
    cut = np.flatnonzero(~inside)
    parts, index = shapely.get_parts(shapely.intersection(segments[cut], land), return_index=True)
    lines = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) >= SHORTEST_M)  # not where it grazes a shore
    edge = np.concatenate([np.flatnonzero(inside), cut[index[lines]]])
    return np.concatenate([segments[inside], parts[lines]]), p[edge], q[edge]


def _touches_any(segments: np.ndarray, outlines: np.ndarray) -> np.ndarray:
    """Whether each segment meets a compound outline (none does on the lattice: a guard for other layouts)."""
    hits = np.zeros(len(segments), dtype=bool)
    if len(segments) and len(outlines):
        tree = shapely.STRtree(np.asarray(outlines, dtype=object))
        hits[tree.query(segments, predicate="intersects")[0]] = True
    return hits


def _dead_ends_between_lots(segments: np.ndarray, between_lots: np.ndarray) -> np.ndarray:
    """Whether each segment is one between two empty lots that ends where no other segment does: the stubs that
    would stick out one block from the built-up area all round."""
    ends = shapely.get_coordinates(shapely.get_point(segments, [[0], [-1]]).T)
    key = np.round(ends / SNAP_M).astype(np.int64)
    _, node, degree = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    lonely = (degree[node.ravel()] == 1).reshape(-1, 2).any(axis=1)
    return between_lots & lonely


def _name_edges(
    segments: np.ndarray,
    road_p: np.ndarray,
    road_q: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The road of each edge (-1: none), from the roads of the compounds either side (-1 for an empty lot).

    Sites ``p``, ``q`` below ``n`` are compounds. Every compound gets an edge of its own road where it can.
    """
    m = len(segments)
    road = np.where((road_p < 0) | (road_q < 0) | (road_p == road_q), np.maximum(road_p, road_q), -1)
    contested = (road_p >= 0) & (road_q >= 0) & (road_p != road_q)
    # how many edges of its own road each compound has
    own = np.bincount(np.concatenate([p[road == road_p], q[road == road_q]]), minlength=n)[:n]
    # compounds without their road take an edge between them and another compound: a free one first, else one
    # from a compound that has another edge of its own road; two that want the same edge (or neighbour): a draw
    half = np.concatenate([np.flatnonzero(contested)] * 2)
    owner = np.concatenate([p[contested], q[contested]])
    other = np.concatenate([q[contested], p[contested]])
    wants = np.concatenate([road_p[contested], road_q[contested]])
    luck = rng.random(len(half))
    for _ in range(MAX_ROUNDS):
        holder_road = np.where(owner == p[half], road_q[half], road_p[half])  # the other side's road
        taken = road[half] >= 0
        spare = ~taken | (road[half] != holder_road) | (own[other] >= 2)
        open_ = np.flatnonzero((own[owner] == 0) & spare)
        if not len(open_):
            break
        steal = taken[open_] & (road[half[open_]] == holder_road[open_])
        order = open_[np.lexsort((luck[open_], steal, owner[open_]))]
        best = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]  # each compound's choice
        for group in (half, other):  # one winner per edge, and one edge lost per compound at most
            best = best[np.lexsort((luck[best], group[best]))]
            best = best[np.r_[True, group[best][1:] != group[best][:-1]]]
        lost = road[half[best]] == holder_road[best]
        np.subtract.at(own, other[best[lost]], 1)
        road[half[best]] = wants[best]
        own[owner[best]] += 1
    if not m:
        return road
    line, along = _lines(segments)
    # contested edges still free continue a road of theirs from the edge before or after them on their street
    free = np.flatnonzero((road < 0) & contested)
    before, after, _, _ = _neighbours(line, along, road, free)
    pick = np.where((before == road_p[free]) | (before == road_q[free]), before,
                    np.where((after == road_p[free]) | (after == road_q[free]), after, -1))
    side = np.where(rng.random(len(free)) < 0.5, road_p[free], road_q[free])
    road[free] = np.where(pick >= 0, pick, side)
    # edges between empty lots continue the road of the nearest edge on their street, if there is one
    lots = np.flatnonzero(road < 0)
    before, after, gap_before, gap_after = _neighbours(line, along, road, lots)
    road[lots] = np.where(gap_before <= gap_after, before, after)
    return road


def _lines(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The straight street each segment lies on (an id: same heading, same offset) and where along it."""
    coords = shapely.get_coordinates(shapely.get_point(segments, [[0], [-1]]).T).reshape(-1, 2, 2)
    d = coords[:, 1] - coords[:, 0]
    heading = np.mod(np.arctan2(d[:, 1], d[:, 0]), np.pi)
    heading = np.where(heading > np.pi - 1e-3, 0.0, heading)
    unit = np.column_stack([np.cos(heading), np.sin(heading)])
    middle = coords.mean(axis=1)
    offset = middle[:, 1] * unit[:, 0] - middle[:, 0] * unit[:, 1]
    key = np.column_stack([np.round(np.degrees(heading), 1), np.round(offset)])
    line = np.unique(key, axis=0, return_inverse=True)[1].ravel()
    return line, (middle * unit).sum(axis=1)


def _neighbours(
    line: np.ndarray, along: np.ndarray, road: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the segments ``which``: the road of the nearest named segment before and after each on its street (-1:
    none) and how far they are (inf: none)."""
    order = np.lexsort((along, line))
    named = road[order] >= 0
    pos = np.arange(len(order))
    before = np.maximum.accumulate(np.where(named, pos, -1))
    after = np.minimum.accumulate(np.where(named, pos, len(order))[::-1])[::-1]
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = pos
    at = rank[which]
    out = []
    for near in (before[at], after[at]):
        seg = order[np.clip(near, 0, len(order) - 1)]
        ok = (near >= 0) & (near < len(order)) & (line[seg] == line[which])
        out.append((np.where(ok, road[seg], -1), np.where(ok, np.abs(along[seg] - along[which]), np.inf)))
    (road_before, gap_before), (road_after, gap_after) = out
    return road_before, road_after, gap_before, gap_after


def _frontage(
    x: np.ndarray, y: np.ndarray, angle: np.ndarray, land: shapely.Geometry
) -> tuple[np.ndarray, np.ndarray]:
    """A short road along the near side of each compound that no edge serves, cut to the land: the pieces and the
    compound of each."""
    if not len(x):
        return np.empty(0, dtype=object), np.empty(0, dtype=np.intp)
    ca, sa = np.cos(angle), np.sin(angle)
    gap = SITE_SPACING_M / 2
    ends = np.stack([np.column_stack([x + ca * s + sa * gap, y + sa * s - ca * gap]) for s in (-FRONT_M, FRONT_M)],
                    axis=1)
    parts, index = shapely.get_parts(shapely.intersection(shapely.linestrings(ends), land), return_index=True)
    lines = shapely.get_type_id(parts) == 1
    return parts[lines], index[lines]
