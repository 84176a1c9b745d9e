from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cim.address_parse import (
    FIELDS,
    ParsedAddress,
    chinese_to_int,
    normalize_addresses,
    parse_address,
    parse_addresses,
    strip_city_prefix,
)
from cim.names import COMPOUND_SUFFIXES, ROAD_SUFFIXES

FULL = ParsedAddress(province="湖北省", city="武汉市", district="江汉区", street="盛口街道", road="新岭街", number="7",
                     compound="花林花园", building="1")
DWELLING = ParsedAddress(district="江汉区", street="盛口街道", road="新岭街", number="7", compound="花林花园",
                         building="1", unit="2", room="1203")


def parts(**given: str) -> ParsedAddress:
    return ParsedAddress(**given)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("湖北省武汉市江汉区盛口街道新岭街7号花林花园1栋", FULL),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203室", DWELLING),
        # levels left out
        ("新岭街7号花林花园1栋", parts(road="新岭街", number="7", compound="花林花园", building="1")),
        ("江汉区新岭街7号花林花园1栋", parts(district="江汉区", road="新岭街", number="7", compound="花林花园",
                                              building="1")),
        ("盛口街道新岭街7号花林花园1栋", parts(street="盛口街道", road="新岭街", number="7", compound="花林花园",
                                                building="1")),
        ("花林花园1栋2单元1203室", parts(compound="花林花园", building="1", unit="2", room="1203")),
        ("新岭街7号", parts(road="新岭街", number="7")),
        ("武汉市江汉区", parts(city="武汉市", district="江汉区")),
        # a community, phases in names, a township, the functional zones
        ("江汉区盛口街道民河社区新岭街7号花林花园1栋", parts(district="江汉区", street="盛口街道", community="民河社区",
                                                          road="新岭街", number="7", compound="花林花园",
                                                          building="1")),
        ("黄陂区珞云2期街道汉阳2期大道13号桂园2期花园12栋", parts(district="黄陂区", street="珞云2期街道",
                                                                road="汉阳2期大道", number="13",
                                                                compound="桂园2期花园", building="12")),
        ("新洲区仓埠镇解放路3号", parts(district="新洲区", street="仓埠镇", road="解放路", number="3")),
        ("东湖新技术开发区关山大道1号", parts(district="东湖新技术开发区", road="关山大道", number="1")),
        # no marker after the last number: the building, or the room after a building
        ("花林花园12", parts(compound="花林花园", building="12")),
        ("花林花园1栋1203", parts(compound="花林花园", building="1", room="1203")),
        ("", ParsedAddress()),
    ],
)
def test_an_address_splits_into_its_parts(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width digits, letters, spaces and punctuation
        ("江汉区，盛口街道　新岭街７号 花林花园１栋２单元１２０３室", DWELLING),
        ("江汉区-盛口街道-新岭街7号/花林花园#1栋2单元1203室。", DWELLING),
        ("新岭街7号花林花园Ａ座", parts(road="新岭街", number="7", compound="花林花园", building="A")),
        # Chinese numerals: positional, digit by digit, in a phase, in the door number
        ("江汉区盛口街道新岭街七号花林花园一栋二单元一二零三室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元一千二百零三室", DWELLING),
        ("新岭街十二号花林花园十二栋", parts(road="新岭街", number="12", compound="花林花园", building="12")),
        ("新岭街7号花林花园二十栋", parts(road="新岭街", number="7", compound="花林花园", building="20")),
        ("新岭街7号桂园三期花园1栋", parts(road="新岭街", number="7", compound="桂园3期花园", building="1")),
        ("花林花园两栋", parts(compound="花林花园", building="2")),
        # 号楼, 幢, 座 for 栋; 号 and 房 for 室; a dashed building-unit-room; leading zeros
        ("江汉区盛口街道新岭街7号花林花园1号楼2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1幢2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1座2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203号", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203房", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1-2-1203", DWELLING),
        ("江汉区盛口街道新岭街07号花林花园01栋02单元1203室", DWELLING),
        # extra words, remarks in brackets, gates
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203室附近", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园旁边1栋2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203室(东门)", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园（南门）1栋2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园东门1栋2单元1203室", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园1栋2单元1203室门口", DWELLING),
        ("江汉区盛口街道新岭街7号花林花园【北区】1栋2单元1203室对面", DWELLING),
        # a bare 武汉 is the city, unless it begins a road
        ("湖北武汉江汉区", parts(province="湖北", city="武汉市", district="江汉区")),
        ("武汉大道27号中园名邸7栋", parts(road="武汉大道", number="27", compound="中园名邸", building="7")),
    ],
)
def test_the_ways_people_write_an_address_parse_alike(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("湖北省武汉市江汉区新岭街７号 花林花园十二幢", "湖北省武汉市江汉区新岭街7号花林花园12栋"),
        ("武汉江汉区新岭街7号", "武汉市江汉区新岭街7号"),
        ("花林花园1栋2单元一二零三室（东门）", "花林花园1栋2单元1203室"),
        (None, ""),
    ],
)
def test_normalising_brings_variants_to_one_text(text, normalized):
    assert normalize_addresses([text]).to_pylist() == [normalized]


def test_normalising_is_idempotent():
    texts = ["江汉区盛口街道新岭街七号花林花园一栋二单元一二零三室(东门)", "武汉 新岭街7号 花林花园A座", "新岭街0号"]
    once = normalize_addresses(texts)
    assert normalize_addresses(once).equals(once)


def test_the_city_prefix_is_what_exact_matching_leaves_out():
    texts = normalize_addresses(["湖北省武汉市江汉区新岭街7号", "武汉江汉区新岭街7号", "中国湖北武汉市江汉区新岭街7号",
                                 "武汉大道1号"])
    assert strip_city_prefix(texts).to_pylist() == ["江汉区新岭街7号"] * 3 + ["武汉大道1号"]


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("三十五", 35), ("一百零三", 103), ("两千", 2000),
     ("一千二百零三", 1203), ("一二零三", 1203), ("三零一", 301), ("〇", 0)],
)
def test_chinese_numerals_read_positionally_or_digit_by_digit(numeral, value):
    assert chinese_to_int(numeral) == value


@pytest.mark.parametrize("numeral", ["", "十a", "abc"])
def test_a_text_that_is_no_chinese_numeral_is_refused(numeral):
    with pytest.raises(ValueError, match="is not a Chinese numeral"):
        chinese_to_int(numeral)


def test_many_texts_parse_at_once_to_one_row_each():
    texts = ["湖北省武汉市江汉区盛口街道新岭街7号花林花园1栋", None, "花林花园1栋2单元1203室", "xyz"]
    frame = parse_addresses(texts)
    assert list(frame.columns) == list(FIELDS)
    assert [ParsedAddress(**row) for row in frame.to_dict("records")] == [parse_address(t or "") for t in texts]


def test_parsing_accepts_arrow_arrays_and_already_normalised_texts():
    normalized = normalize_addresses(["新岭街七号花林花园一栋"])
    frame = parse_addresses(normalized, normalized=True)
    assert frame.loc[0, ["number", "building"]].tolist() == ["7", "1"]
    assert parse_addresses(pa.array(["新岭街7号"])).loc[0, "road"] == "新岭街"


def test_a_parsed_address_writes_itself_in_the_standard_form():
    assert DWELLING.standard_text() == "江汉区盛口街道新岭街7号花林花园1栋2单元1203室"
    assert parse_address(DWELLING.standard_text()) == DWELLING


@pytest.mark.parametrize("field", ["number", "unit", "room"])
def test_a_parsed_number_must_be_ascii_digits(field):
    with pytest.raises(ValueError, match=f"ParsedAddress.{field} must be ASCII digits"):
        ParsedAddress(**{field: "七"})


_STEM = st.text(alphabet="汉江珞武晴民水花黄新古龙凤长青梅桃桂阳口湖山林桥园港洲岭", min_size=2, max_size=3)


@settings(deadline=None, max_examples=200)
@given(
    district=st.sampled_from(["江汉区", "洪山区", "东西湖区", None]),
    street=st.one_of(st.none(), _STEM.map(lambda s: s + "街道")),
    road=st.tuples(_STEM, st.sampled_from(ROAD_SUFFIXES)).map("".join),
    number=st.integers(1, 999),
    compound=st.tuples(_STEM, st.sampled_from(COMPOUND_SUFFIXES)).map("".join),
    building=st.integers(1, 99),
    dwelling=st.one_of(st.none(), st.tuples(st.integers(1, 9), st.integers(101, 3304))),
)
def test_any_standard_address_parses_back_to_its_parts(district, street, road, number, compound, building, dwelling):
    unit, room = (None, None) if dwelling is None else (str(dwelling[0]), str(dwelling[1]))
    address = ParsedAddress(district=district, street=street, road=road, number=str(number), compound=compound,
                            building=str(building), unit=unit, room=room)
    assert parse_address(address.standard_text()) == address
