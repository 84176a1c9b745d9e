"""Every layer of the registry builds from the demo city, and its spec holds together."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from layers.messages import FULL, VALUES, message
from layers.registry import city_layers
from layers.spec import LayerRegistry, LayerSpec, Renderer, SpecError
from layers.wire import decode

REGISTRY = city_layers()
TABLES = ("districts", "streets", "communities", "grids", "compounds", "buildings", "water", "population_h3", "roads",
          "organisations", "pois", "bim_models", "bim_spaces")


@pytest.fixture(scope="module")
def tables(city_store):
    return {t: city_store.read(t) for t in TABLES}


@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.ids)
def test_every_layer_builds_and_its_tooltip_names_only_values_it_has(spec, tables):
    for variant in spec.variants or (None,):
        data = spec.build(tables, variant)
        assert data.count > 0
        assert set(spec.tooltip_fields) <= set(data.values), spec.tooltip
        assert set(spec.bindings.values()) <= set(data.values), spec.bindings
        for colouring in spec.colourings:
            colours = colouring.colour(data)
            assert len(colours.index) == data.count
            assert int(colours.index.max()) < len(colours.palette)


@pytest.mark.parametrize("spec", [s for s in REGISTRY if s.pick], ids=[s.id for s in REGISTRY if s.pick])
def test_what_a_click_picks_can_be_found_again_by_its_key(spec, tables):
    variant = spec.variant(None)
    data = spec.build(tables, variant)
    for index in (0, data.count - 1):
        details = spec.pick.details(tables, variant, index)
        assert details.title and details.facts
        assert spec.pick.find(tables, variant, details.key) == index
    assert spec.pick.find(tables, variant, "no-such-key") is None


def test_the_unit_outlines_show_from_their_own_zoom_levels():
    zooms = {s.id: s.min_zoom for s in REGISTRY if s.renderer is Renderer.OUTLINES}
    assert zooms == {"districts": None, "streets": 11.5, "communities": 13.0, "grids": 14.5, "compounds": 15.5}


BROWSER_CODE = sorted((Path(__file__).parents[2] / "views" / "assets").glob("*.js"))


@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.ids)
def test_the_browser_code_names_no_layer(spec):
    """Layers are data: the browser draws whatever the registry lists, so adding one touches no script."""
    assert len(BROWSER_CODE) >= 3
    named = re.compile(rf"""(["'`]){re.escape(spec.id)}\1|\.{re.escape(spec.id)}\b""")
    for script in BROWSER_CODE:
        hits = [n + 1 for n, line in enumerate(script.read_text(encoding="utf-8").splitlines()) if named.search(line)]
        assert not hits, f"{script.name} names the {spec.id} layer on line(s) {hits}"


def test_a_values_message_has_the_values_and_colours_but_no_shapes(tables):
    spec = REGISTRY.get("buildings")
    data = spec.build(tables, None)
    full, _meta = decode(message(spec, data, part=FULL, variant=None, version="v", geometry_version="g"))
    values, vmeta = decode(message(spec, data, part=VALUES, variant=None, version="v", geometry_version="g"))
    assert {"positions", "starts"} <= set(full) and not {"positions", "starts"} & set(values)
    districts = REGISTRY.get("districts")
    labelled, _ = decode(message(districts, districts.build(tables, None), part=VALUES, variant=None, version="v",
                                 geometry_version="g"))
    assert "label_text" in labelled and "label_x" not in labelled  # a renamed district keeps its shape
    assert set(values) == {"height", "floors", "residents", "use", "use_label", "colour.use", "colour.residents"}
    assert np.array_equal(full["residents"], values["residents"])
    assert vmeta["geometryVersion"] == "g" and vmeta["legends"]["use"]["title"] == "Building use 楼栋用途"
    models = set(tables["bim_models"]["building_code"].dropna())  # buildings drawn by their IFC model instead
    assert len(values["height"]) == data.count == len(tables["buildings"]) - len(models) > 0


def test_district_labels_stand_inside_their_districts(tables):
    import shapely

    spec = REGISTRY.get("districts")
    data = spec.build(tables, None)
    points = shapely.points(np.column_stack([data.labels.lon, data.labels.lat]))
    assert shapely.within(points, tables["districts"].geometry.to_numpy()).all()


def _spec(**changes) -> LayerSpec:
    base = REGISTRY.get("water")
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return LayerSpec(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Water Layer"}, "must be lower-case letters, digits and dashes"),
        ({"default_variant": "r9"}, "has a default variant but no variants"),
        ({"toggle": False, "visible": False}, "can be neither seen nor turned on"),
        ({"renderer": Renderer.EXTRUDED}, r"is drawn as extruded, which takes the bindings \['elevation'\]; it gives"),
    ],
)
def test_a_spec_that_contradicts_itself_is_refused(changes, message):
    with pytest.raises(SpecError, match=message):
        _spec(**changes)


def test_a_registry_refuses_two_layers_of_one_id_and_adding_returns_a_new_registry():
    with pytest.raises(SpecError, match=re.escape("layer ids must be unique; repeated: ['water']")):
        LayerRegistry((REGISTRY.get("water"), REGISTRY.get("water")))
    more = REGISTRY.with_layer(_spec(id="lakes"), before="buildings")
    assert more.ids[more.ids.index("lakes") + 1] == "buildings" and "lakes" not in REGISTRY.ids


def test_asking_for_a_variant_or_colouring_a_layer_lacks_names_the_ones_it_has():
    population = REGISTRY.get("population")
    with pytest.raises(SpecError, match="layer 'population' has no variant 'r3'; it has r6, r7, r8, r9"):
        population.variant("r3")
    with pytest.raises(SpecError, match="layer 'population' has no colouring 'use'; it has residents"):
        population.colouring("use")
