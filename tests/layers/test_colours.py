from __future__ import annotations

import numpy as np

from cim.vocabulary import BUILDING_USES
from layers.colours import NONE_COLOUR, RAMP_STOPS, categorical, ramp_colour, sequential


def test_the_ramp_passes_through_its_stops():
    t = np.linspace(0, 1, len(RAMP_STOPS))
    assert ramp_colour(t).tolist() == [list(s) for s in RAMP_STOPS]


def test_a_count_colours_zero_as_none_and_the_largest_as_the_end_of_the_ramp():
    colours = sequential(np.array([0, 1, 25, 100]), title="Residents", none_label="nobody")
    rgba = colours.rgba()
    assert tuple(rgba[0][:3]) == NONE_COLOUR
    assert tuple(rgba[3][:3]) == RAMP_STOPS[-1]
    assert tuple(rgba[1][:3]) != NONE_COLOUR  # one resident is on the ramp, not "nobody"
    assert colours.legend.ramp_labels == ("0", "100")


def test_the_legend_is_drawn_from_the_same_palette_as_the_map():
    colours = sequential(np.arange(500), title="Residents")
    palette = set(colours.palette)
    assert set(colours.legend.ramp) <= palette
    assert colours.legend.ramp[0] == colours.palette[1] and colours.legend.ramp[-1] == colours.palette[-1]
    used = {tuple(c) for c in colours.rgba().tolist()}
    assert colours.legend.ramp[-1] in used


def test_categories_take_the_vocabulary_colours_and_labels():
    colours = categorical(BUILDING_USES.index_of(["public", "residential"]), BUILDING_USES, title="Use")
    assert colours.rgba()[:, :3].tolist() == [list(BUILDING_USES.term("public").colour),
                                              list(BUILDING_USES.term("residential").colour)]
    assert [i.label for i in colours.legend.items][:2] == ["住宅 residential", "商业办公 commercial"]
