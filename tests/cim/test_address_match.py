from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cim.address_files import match_file
from cim.address_match import (
    CELL_RESOLUTION,
    REGISTER_COLUMNS,
    AddressIndex,
    AddressMatchError,
)
from cim.address_register_demo import register_from_buildings
from cim.levels import LEVEL_COLUMNS
from layers.cells import points_to_cells

REGISTER_SIZE = 40_000


@pytest.fixture(scope="module")
def register(small_city) -> pd.DataFrame:
    return register_from_buildings(small_city.buildings, limit=REGISTER_SIZE)


@pytest.fixture(scope="module")
def index(register) -> AddressIndex:
    return AddressIndex.build(register)


@pytest.fixture(scope="module")
def dwelling(register) -> pd.Series:
    """A dwelling in a compound of four-character name, on a road of three, in a compound with two buildings."""
    per_compound = register.groupby("compound_name")["building_no"].transform("max")
    ok = (register["unit"].notna() & (register["compound_name"].str.len() == 4) & (register["road"].str.len() == 3)
          & (per_compound >= 2))
    return register[ok].iloc[0]


def text_of(row: pd.Series, **override: str) -> str:
    parts = {"head": "湖北省武汉市", "district": row["district_name"], "street": row["street_name"],
             "road": row["road"], "number": f"{row['number']}号", "compound": row["compound_name"],
             "building": f"{row['building_no']}栋", "unit": "", "room": ""}
    if pd.notna(row["unit"]):
        parts["unit"], parts["room"] = f"{row['unit']}单元", f"{row['room']}室"
    parts |= override
    return "".join(parts.values())


def one_match(index: AddressIndex, text: str) -> pd.Series:
    result = index.match([text])
    assert result.reviewed == 0, result.review.to_dict("records")
    assert result.matched == 1
    return result.matches.iloc[0]


def test_a_standard_address_matches_exactly_with_its_codes_and_h3_cell(index, register, dwelling):
    match = one_match(index, dwelling["text"])
    assert (match["address_id"], match["rule"], match["score"]) == (dwelling["address_id"], "exact", 1.0)
    assert {c: match[c] for c in LEVEL_COLUMNS} == {c: dwelling[c] for c in LEVEL_COLUMNS}
    cell = points_to_cells(np.array([dwelling["lon"]]), np.array([dwelling["lat"]]), CELL_RESOLUTION)[0]
    assert match["h3_cell"] == cell
    assert list(index.match([dwelling["text"]]).matches.columns) == [
        "query_index", "query", "address_id", "text", *LEVEL_COLUMNS, "h3_cell", "score", "rule"]


def _typo(name: str) -> str:
    """The first character of the name swapped for one no name in the demo city has."""
    return "犇" + name[1:]


@pytest.mark.parametrize(
    ("variant", "rule", "score"),
    [
        (lambda r: text_of(r, head=""), "exact", 1.0),
        (lambda r: text_of(r, head="武汉", district=""), "components", 1.0),
        (lambda r: text_of(r, head="", street=""), "components", 1.0),
        (lambda r: text_of(r, head="", district="", street=""), "components", 1.0),
        (lambda r: text_of(r, head="", district="", street="", road="", number=""), "components", 1.0),
        (lambda r: text_of(r, building=f"{r['building_no']}幢"), "exact", 1.0),
        (lambda r: text_of(r, building=f"{r['building_no']}号楼"), "exact", 1.0),
        (lambda r: text_of(r, building=f"{r['building_no']}座", head="", street=""), "components", 1.0),
        (lambda r: text_of(r, unit="一单元" if r["unit"] == 1 else f"{r['unit']}单元"), "exact", 1.0),
        (lambda r: text_of(r, room="".join("零一二三四五六七八九"[int(c)] for c in str(r["room"])) + "室"),
         "exact", 1.0),
        (lambda r: text_of(r, number=f"{r['number']}号".translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
         "exact", 1.0),
        (lambda r: " ".join(text_of(r)), "exact", 1.0),
        (lambda r: text_of(r) + "附近", "exact", 1.0),
        (lambda r: text_of(r, compound=r["compound_name"] + "(东门)"), "exact", 1.0),
        (lambda r: text_of(r, compound=_typo(r["compound_name"])), "fuzzy-compound", 13 / 15),
        (lambda r: text_of(r, compound=r["compound_name"][1:], head="", district="", street=""),
         "fuzzy-compound", 0.8),
        (lambda r: text_of(r, road=_typo(r["road"])), "fuzzy-road", 14 / 15),
        (lambda r: text_of(r, road=r["road"][1:]), "fuzzy-road", 14 / 15),
    ],
    ids=["no-province-city", "no-district", "no-street", "no-admin-levels", "compound-only", "幢", "号楼", "座",
         "chinese-unit", "chinese-room", "full-width", "spaces", "extra-words", "bracketed-gate", "typo-compound",
         "missing-character-compound", "typo-road", "missing-character-road"],
)
def test_each_way_of_writing_an_address_finds_it(index, dwelling, variant, rule, score):
    match = one_match(index, variant(dwelling))
    assert (match["address_id"], match["rule"]) == (dwelling["address_id"], rule)
    assert match["score"] == pytest.approx(score, abs=1e-4)


NO_ADMIN = {"head": "", "district": "", "street": ""}


@pytest.mark.parametrize(
    ("override", "score"),
    [
        ({"road": "犇{road}"}, 14 / 15),
        ({"road": "犇{road}", **NO_ADMIN}, 0.9),
        ({"district": "{other_district}"}, 13 / 15),
        ({"compound": "犇{compound}"}, 13 / 15),
        ({"compound": "犇{compound}", **NO_ADMIN}, 0.8),
        ({"road": "犇{road}", "compound": "", **NO_ADMIN}, 5 / 6),
        ({"compound": "犇{compound}", "road": "", "number": ""}, 7 / 9),
        ({"street": "{other_street}"}, 0.8),
        ({"number": "{far_door}号"}, 11 / 15),
        ({"number": "{far_door}号", **NO_ADMIN}, 0.6),
        ({"compound": "紫荆花园"}, 11 / 15),
        ({"compound": "紫荆花园", **NO_ADMIN}, 0.6),
        ({"street": "{other_street}", "road": "", "number": ""}, 2 / 3),
        ({"district": "{other_district}", "street": "{other_street}"}, 2 / 3),
        ({"compound": "犇{compound}", "road": "", "number": "", **NO_ADMIN}, 0.5),
        ({"road": "紫荆路", "compound": "", **NO_ADMIN}, 0.0),  # the door number of another road
    ],
)
def test_scores_are_those_of_the_module_notes_and_the_threshold_splits_them(index, dwelling, override, score):
    names = {"road": dwelling["road"][1:], "compound": dwelling["compound_name"][1:],
             "other_district": "洪山区" if dwelling["district_name"] != "洪山区" else "江汉区",
             "other_street": "紫荆街道", "far_door": dwelling["number"] + 50}
    result = index.match([text_of(dwelling, **{k: v.format(**names) for k, v in override.items()})])
    if score >= index.threshold:
        assert result.matches.loc[0, "address_id"] == dwelling["address_id"]
        assert result.matches.loc[0, "score"] == pytest.approx(score, abs=1e-4)
    else:
        assert result.matched == 0
        assert result.review.loc[0, "best_score"] == pytest.approx(score, abs=1e-4)
        assert result.review.loc[0, "reason"] == ("below threshold" if score else "no candidate")


def test_a_building_s_own_address_is_not_one_of_its_dwellings(index, register, dwelling):
    building = register[(register["building_code"] == dwelling["building_code"]) & register["unit"].isna()].iloc[0]
    match = one_match(index, text_of(dwelling, unit="", room="", head=""))
    assert match["address_id"] == building["address_id"] == dwelling["building_code"]


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        (lambda r: text_of(r, building="9栋"), "below threshold"),  # a building the compound does not have
        (lambda r: text_of(r, room=f"{90 * 100 + 1}室"), "below threshold"),  # a floor above the top
        (lambda r: text_of(r, compound="紫荆花园"), "below threshold"),  # a compound the register does not know
        (lambda r: text_of(r, number=f"{r['number'] + 40}号"), "below threshold"),  # a door not the compound's
        (lambda r: text_of(r, compound=_typo(r["compound_name"]), road="", number="", head="", district="",
                           street=""), "below threshold"),
        (lambda r: "人民路88号紫荆花园3栋", "no candidate"),
        (lambda r: "武汉市江汉区", "no candidate"),
        (lambda r: "  ", "empty"),
    ],
    ids=["no-such-building", "no-such-floor", "unknown-compound", "wrong-door", "misspelt-compound-alone",
         "unknown-road-and-compound", "a-district-only", "blank"],
)
def test_an_address_not_in_the_register_goes_to_review_never_to_a_guess(index, dwelling, variant, reason):
    text = variant(dwelling)
    result = index.match(["", text])
    assert result.matched == 0
    review = result.review.set_index("query_index").loc[1]
    assert (review["query"], review["reason"]) == (text, reason)
    if reason == "below threshold":
        candidates = [review[f"candidate_{k}"] for k in (1, 2, 3) if pd.notna(review[f"candidate_{k}"])]
        scores = [review[f"score_{k}"] for k in (1, 2, 3) if pd.notna(review[f"score_{k}"])]
        assert 1 <= len(candidates) == len(scores) <= 3
        assert scores == sorted(scores, reverse=True) and scores[0] == review["best_score"] < index.threshold


def test_a_text_two_register_rows_share_is_ambiguous(register, dwelling):
    twin = register[register["address_id"] == dwelling["address_id"]].assign(address_id="copy")
    index = AddressIndex.build(pd.concat([register, twin], ignore_index=True))
    result = index.match([dwelling["text"], text_of(dwelling, head="", district="")])
    assert result.matched == 0
    assert result.review["reason"].tolist() == ["ambiguous", "ambiguous"]
    assert set(result.review.loc[0, ["candidate_1", "candidate_2"]]) == {dwelling["address_id"], "copy"}


def test_a_stricter_threshold_sends_a_misspelling_to_review(register, dwelling):
    strict = AddressIndex.build(register, threshold=0.95)
    result = strict.match([text_of(dwelling, compound=_typo(dwelling["compound_name"]))])
    assert result.matched == 0
    assert result.review.loc[0, "candidate_1"] == dwelling["address_id"]
    assert result.review.loc[0, "score_1"] == pytest.approx(13 / 15, abs=1e-4)


def test_many_texts_match_in_one_call_in_their_order(index, register):
    rows = register.iloc[::997]
    texts = [t.replace("栋", "幢").removeprefix("湖北省武汉市") for t in rows["text"]] + ["花林花园9栋", None]
    result = index.match(pd.Series(texts))
    assert result.matches["query_index"].tolist() == list(range(len(rows)))
    assert result.matches["address_id"].tolist() == rows["address_id"].tolist()
    assert result.review["query_index"].tolist() == [len(rows), len(rows) + 1]


def test_an_empty_list_matches_nothing(index):
    result = index.match([])
    assert (result.matched, result.reviewed) == (0, 0)
    assert result.review.dtypes["score_1"] == np.float64


# --- the register -------------------------------------------------------------------------------------------

def test_a_register_has_one_address_per_building_then_the_dwellings(small_city, register):
    buildings = small_city.buildings
    assert tuple(register.columns) == REGISTER_COLUMNS
    assert len(register) == REGISTER_SIZE
    assert register["address_id"].is_unique and register["text"].is_unique
    own = register.iloc[: len(buildings)]
    assert own["address_id"].tolist() == buildings["building_code"].tolist()
    assert own["text"].tolist() == buildings["address"].tolist()
    assert own["unit"].isna().all() and own["room"].isna().all()
    homes = register.iloc[len(buildings):]
    assert homes["unit"].notna().all() and (homes["unit"] <= 4).all()
    floors = buildings.set_index("building_code")["floors"]
    assert (homes["room"] // 100 <= floors.loc[homes["building_code"]].to_numpy()).all()
    residential = buildings.loc[buildings["use"] == "residential", "building_code"]
    assert set(homes["building_code"]) <= set(residential)


def test_without_a_limit_every_dwelling_has_an_address(small_city):
    buildings = small_city.buildings.iloc[:50]
    register = register_from_buildings(buildings)
    dwellings = buildings["dwellings"].where(buildings["use"] == "residential", 0).sum()
    assert len(register) == len(buildings) + dwellings
    assert register["address_id"].is_unique
    first = buildings.iloc[int(np.flatnonzero(buildings["use"].to_numpy() == "residential")[0])]
    homes = register[(register["building_code"] == first["building_code"]) & register["unit"].notna()]
    assert homes["text"].iloc[0] == first["address"] + "1单元101室"


def test_the_register_is_the_same_every_time(small_city, register):
    again = register_from_buildings(small_city.buildings, limit=REGISTER_SIZE)
    pd.testing.assert_frame_equal(again, register)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"limit": -1}, "limit must be at least 0, got -1"),
     ({"units_per_building": 0}, "units_per_building and rooms_per_floor must be at least 1, got 0 and 2")],
)
def test_bad_register_options_are_refused(small_city, kwargs, message):
    with pytest.raises(AddressMatchError, match=message):
        register_from_buildings(small_city.buildings, **kwargs)


def test_a_register_without_a_needed_column_is_refused(register):
    with pytest.raises(AddressMatchError, match=r"^the register has no column 'compound_name'; a register needs \["):
        AddressIndex.build(register.drop(columns=["compound_name"]))


# --- files --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gbk")])
def test_a_csv_file_is_matched_into_two_files(index, dwelling, tmp_path, encoding, detected):
    source = tmp_path / "hotline.csv"
    texts = [text_of(dwelling, head=""), text_of(dwelling, building="9栋"), "人民路88号"]
    pd.DataFrame({"id": [1, 2, 3], "地址": texts}).to_csv(source, index=False, encoding=encoding)
    summary = match_file(source, "地址", tmp_path / "out.csv", index=index)
    assert (summary.queries, summary.matched, summary.review, summary.encoding) == (3, 1, 2, detected)
    assert (summary.matches_path, summary.review_path) == (tmp_path / "out.csv", tmp_path / "out.review.csv")
    matches = pd.read_csv(summary.matches_path, dtype={"address_id": str, "building_code": str})
    assert matches[["query_index", "address_id"]].values.tolist() == [[0, dwelling["address_id"]]]
    review = pd.read_csv(summary.review_path)
    assert review["query"].tolist() == texts[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hotline.csv", "out.csv", "out.review.csv"]


def test_the_output_goes_beside_the_input_by_default(index, dwelling, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("address\n" + dwelling["text"] + "\n", encoding="utf-8")
    summary = match_file(source, "address", index=index)
    assert summary.matches_path == tmp_path / "in.matched.csv"
    assert summary.review_path == tmp_path / "in.matched.review.csv"
    assert pd.read_csv(summary.review_path).empty


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"^\S*in\.csv is empty; expected a CSV file with a header row naming 'address'$"),
        (b" \n\n", r"is empty"),
        ("id,地点\n1,x\n".encode(), r"in\.csv has no column 'address'; its columns are \['id', '地点'\]$"),
        (b"address\n\x80\x80\x80\n", r"in\.csv: cannot tell the text encoding: the data is not utf-8"),
        (b'address\n"unclosed\n', r"in\.csv is not a readable CSV file: "),
    ],
    ids=["empty", "blank", "missing-column", "not-text", "bad-csv"],
)
def test_a_file_that_cannot_be_matched_is_refused_in_one_line(index, tmp_path, content, message):
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    with pytest.raises(AddressMatchError, match=message) as caught:
        match_file(source, "address", index=index)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_declared_encoding_is_used_as_given(index, dwelling, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(("address\n" + dwelling["text"] + "\n").encode("gbk"))
    assert match_file(source, "address", index=index, encoding="gbk").matched == 1
    with pytest.raises(AddressMatchError, match=r"in\.csv: the data is not valid utf-8: byte"):
        match_file(source, "address", index=index, encoding="utf-8")


def test_a_missing_file_is_refused(index, tmp_path):
    with pytest.raises(AddressMatchError, match=r"nowhere\.csv is not a file$"):
        match_file(tmp_path / "nowhere.csv", "address", index=index)


def test_a_room_the_register_lacks_finds_its_building_only_when_asked_to(index, register, dwelling):
    text = text_of(dwelling, unit="9单元", room="9909室")
    assert index.match([text]).matched == 0  # the address itself is not in the register: never a guess
    match = index.match([text], to_building=True).matches.iloc[0]
    building = register[(register["building_code"] == dwelling["building_code"]) & register["unit"].isna()].iloc[0]
    assert (match["address_id"], match["building_code"], match["score"]) == (
        building["address_id"], dwelling["building_code"], 1.0)


def test_a_register_of_buildings_only_indexes_and_matches(register):
    buildings = AddressIndex.build(register[register["unit"].isna()])
    row = register[register["unit"].isna()].iloc[5]
    assert buildings.match([row["text"] + "2单元301室"], to_building=True).matches["address_id"].tolist() == [
        row["address_id"]]
