"""The georeference cases of issue 8, each on a file made for it: an .ifczip, a model with no IfcBuilding, an
IfcMapConversionScaled, and the conflicts that must be reported (a site reference and a map conversion more than
50 m apart, the map offset applied twice, coordinates too far from the origin for float32). Where a model should
stand is computed here with pyproj from the numbers the test wrote into the file."""

from __future__ import annotations

import math
import re
import zipfile

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from bim.convert import convert_file
from bim.errors import BimError
from bim.georeference import Anchor
from bim.glb_writer import read_glb
from tests.bim.models import CRS, WUHAN_EN, Conversion, write_model
from tests.conftest import SHARED_DATA

GEOD = Geod(ellps="WGS84")
TO_WGS84 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
E, N = WUHAN_EN
#: the blocks the models are made of: 30 m along x, 12 m along y, 9 m high
L, W, H = 30.0, 12.0, 9.0


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def _grid_point(e: float, n: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(e, n)
    return float(lon), float(lat)


def _only(result):
    (model,) = result.buildings
    return model


def _glb_reach(glb: bytes) -> float:
    """The largest coordinate (m) of any vertex of a GLB, from its POSITION accessors' bounds."""
    doc = read_glb(glb)
    bounds = [doc.accessors[p.attributes.POSITION] for mesh in doc.meshes for p in mesh.primitives]
    return max(abs(v) for a in bounds for v in (*a.min, *a.max))


# --- .ifczip ------------------------------------------------------------------------------------------------


def test_an_ifczip_converts_like_the_ifc_it_holds(tmp_path):
    ifc = SHARED_DATA / "ifc" / "geographic-referencing-gk.ifc"
    zipped = tmp_path / "gk.ifczip"
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.write(ifc, arcname="model/geographic-referencing-gk.ifc")
    plain, packed = convert_file(ifc, num_threads=1), convert_file(zipped, num_threads=1)
    assert packed.schema == plain.schema == "IFC4X3_ADD2"
    assert packed.size == zipped.stat().st_size < plain.size
    a, b = _only(plain), _only(packed)
    assert b.placement.method == a.placement.method == "map_conversion"
    assert (b.placement.lon, b.placement.lat, b.placement.rotation) == (a.placement.lon, a.placement.lat,
                                                                        a.placement.rotation)
    assert b.storeys == a.storeys and b.counts == a.counts
    assert [e.global_id for e in b.elements] == [e.global_id for e in a.elements]
    assert b.footprint.equals_exact(a.footprint, 1e-12) and b.height_m == a.height_m
    assert b.glb == a.glb


@pytest.mark.parametrize(("members", "message"), [
    (["a.ifc", "b.ifc"], "an .ifczip must hold exactly one .ifc file, this one holds 2; unzip it and ingest the "
                         ".ifc you mean"),
    (["readme.txt"], "an .ifczip must hold exactly one .ifc file, this one holds 0; unzip it and ingest the "
                     ".ifc you mean"),
    (None, "not a zip archive, though it is named .ifczip; check the file or rename it"),
])
def test_an_ifczip_without_one_ifc_in_it_is_refused(tmp_path, members, message):
    path = tmp_path / "bad.ifczip"
    if members is None:
        path.write_bytes((SHARED_DATA / "ifc" / "geographic-referencing-gk.ifc").read_bytes())
    else:
        with zipfile.ZipFile(path, "w") as z:
            for name in members:
                z.writestr(name, "ISO-10303-21;\n")
    with pytest.raises(BimError) as refused:
        convert_file(path, num_threads=1)
    assert str(refused.value) == f"{path}: {message}"


# --- no IfcBuilding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "holder", "held"), [
    ("IFC4", None, ""),  # the elements stand in the site
    ("IFC4X3", "IfcBridge", " (it holds IfcBridge)"),
])
def test_a_model_with_no_ifcbuilding_is_refused_in_one_line(tmp_path, schema, holder, held):
    path = write_model(tmp_path / "infra.ifc", schema=schema, holder=holder, site_ref=(114.30, 30.58))
    with pytest.raises(BimError) as refused:
        convert_file(path, num_threads=1)
    assert str(refused.value) == (
        f"{path}: the model has no IfcBuilding{held}; the twin places buildings, so infrastructure-only models "
        f"are not ingested")


# --- IfcMapConversionScaled ---------------------------------------------------------------------------------


def test_an_ifcmapconversionscaled_model_is_placed_with_its_factors(tmp_path):
    # x scaled 1.5 times, y 0.75 times and z twice, then turned 36.87 degrees (x axis 0.8, 0.6 on the grid)
    conv = Conversion(E, N, height=20.0, x_axis=(0.8, 0.6), factors=(1.5, 0.75, 2.0))
    path = write_model(tmp_path / "scaled.ifc", schema="IFC4X3", conversion=conv)
    model = _only(convert_file(path, num_threads=1))
    p = model.placement
    assert (p.method, p.crs, p.warnings) == ("map_conversion", CRS, ())
    assert _metres(p.lon, p.lat, *_grid_point(E, N)) < 0.01 and p.elevation == 20.0
    # IFC 4.3: E = Eastings + FactorX x cos(t) - FactorY y sin(t), N = Northings + FactorX x sin(t) + FactorY y cos(t)
    c, s = 0.8, 0.6
    corners = [_grid_point(E + 1.5 * x * c - 0.75 * y * s, N + 1.5 * x * s + 0.75 * y * c)
               for x, y in ((0, 0), (L, 0), (L, W), (0, W))]
    drawn = shapely.get_coordinates(shapely.normalize(model.footprint))[:-1]
    assert len(drawn) == 4
    for lon, lat in corners:
        assert min(_metres(lon, lat, x, y) for x, y in drawn) < 0.05
    # H = OrthogonalHeight + FactorZ z: the 9 m block stands 18 m high on the map
    assert model.height_m == pytest.approx(2 * H, abs=0.01)


# --- conflicts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("apart", "reported"), [(30.0, False), (200.0, True)])
def test_a_site_reference_more_than_50_m_from_the_map_conversion_is_reported(tmp_path, apart, reported):
    at_map = _grid_point(E, N)
    site_lon, site_lat, _ = GEOD.fwd(*at_map, 45.0, apart)
    path = write_model(tmp_path / "conflict.ifc", conversion=Conversion(E, N), site_ref=(site_lon, site_lat))
    p = _only(convert_file(path, num_threads=1)).placement
    assert p.method == "map_conversion" and _metres(p.lon, p.lat, *at_map) < 0.01  # the map conversion wins
    if not reported:
        assert p.warnings == ()
        return
    (warning,) = p.warnings
    gap = re.search(r" are ([\d,]+) m apart;", warning)
    assert gap is not None and float(gap.group(1).replace(",", "")) == pytest.approx(apart, abs=2)
    assert warning == (
        f"{path}: IfcSite RefLatitude/RefLongitude ({site_lat:.6f}, {site_lon:.6f}) and IfcMapConversion "
        f"(E {E:.2f}, N {N:.2f}, {CRS}) are {gap.group(1)} m apart; placed by the map conversion (pass --anchor "
        f"to place it yourself)")


def test_a_map_offset_already_in_the_model_is_applied_once_and_reported(tmp_path):
    # the site is placed at the map coordinates, and the map conversion adds them (turned) again
    conv = Conversion(E, N, height=20.0, x_axis=(0.8, 0.6))
    path = write_model(tmp_path / "twice.ifc", conversion=conv, site_at=(E, N, 0.0))
    model = _only(convert_file(path, num_threads=1))
    p = model.placement
    assert p.warnings == (
        f"{path}: the model's own placement already puts it at the eastings and northings that IfcMapConversion "
        f"adds (E {E:.2f}, N {N:.2f}); they were applied once, not twice",)
    centre = model.footprint.centroid
    assert _metres(centre.x, centre.y, *_grid_point(E + L / 2, N + W / 2)) < 0.05
    assert _metres(p.lon, p.lat, *_grid_point(E + L / 2, N + W / 2)) < 0.05
    assert p.elevation == 20.0 and model.height_m == pytest.approx(H, abs=0.01)
    assert _glb_reach(model.glb) < 50  # drawn around its own centre, not 3,000 km from it


FAR = 20_000.0  # beyond float32's millimetre (2^13 m): its step there is 2^-9 m
#: how each method names where the far block's centre stands, and the file written for it
FAR_CASES = {
    "map_conversion": dict(conversion=Conversion(E, N)),
    "site_reference": dict(site_ref=(114.30, 30.58)),
    "anchor": dict(),
}


def _far_centre(method: str, at: float) -> tuple[float, float]:
    if method == "map_conversion":
        return _grid_point(E + at + L / 2, N + W / 2)
    if method == "site_reference":  # the site reference names the site's origin, which stands at x = at
        lon, lat, _ = GEOD.fwd(114.30, 30.58, math.degrees(math.atan2(L / 2, W / 2)), math.hypot(L / 2, W / 2))
        return lon, lat
    return 114.31, 30.57  # a far model is anchored by the centre of its extent


@pytest.mark.parametrize("method", sorted(FAR_CASES))
def test_coordinates_too_far_for_float32_are_reported_and_the_model_recentred(tmp_path, method):
    path = write_model(tmp_path / "far.ifc", site_at=(FAR, 0.0, 0.0), **FAR_CASES[method])
    anchor = Anchor.parse("114.31,30.57") if method == "anchor" else None
    model = _only(convert_file(path, num_threads=1, anchor=anchor))
    p = model.placement
    reach, step = (FAR + L) / 1000, float(np.spacing(np.float32(FAR + L))) * 100
    how = "anchored by the centre of its extent" if method == "anchor" else "recentred"
    assert p.method == method and p.warnings == (
        f"{path}: the model's coordinates reach {reach:.1f} km from its origin, where float32 steps are "
        f"{step:.1f} cm; the model was {how} before it was written, so no precision was lost",)
    centre = model.footprint.centroid
    assert _metres(centre.x, centre.y, *_far_centre(method, FAR)) < 0.05
    assert _metres(p.lon, p.lat, *_far_centre(method, FAR)) < 0.05
    assert _glb_reach(model.glb) < 50
    # the block stands on the ground (z = 0 in the file), as a model near its origin does
    assert p.elevation == 0.0 and p.enu(np.array([[FAR, 0.0, 0.0]]))[0, 2] == 0.0
    assert model.height_m == pytest.approx(H, abs=0.01)


def test_coordinates_within_8_km_of_the_origin_are_not_reported(tmp_path):
    path = write_model(tmp_path / "near.ifc", site_at=(7_000.0, 0.0, 0.0), conversion=Conversion(E, N))
    model = _only(convert_file(path, num_threads=1))
    assert model.placement.warnings == ()
    centre = model.footprint.centroid
    assert _metres(centre.x, centre.y, *_grid_point(E + 7_000 + L / 2, N + W / 2)) < 0.05
