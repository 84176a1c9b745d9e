from __future__ import annotations

import codecs
import json
from pathlib import Path

import pandas as pd
import pytest

from cim.text_encoding import (
    DecodedText,
    FileEncoding,
    TextEncodingError,
    damage_warning,
    damaged_fields,
    damaged_text,
    decode_bytes,
    detect_file_encoding,
    diagnose_text,
)

# Wuhan addresses and names; 硚 (硚口区) is in GBK but not in GB2312
WUHAN_TEXT = [
    "湖北省武汉市洪山区珞喻路1037号",
    "江岸区,江汉区,硚口区,汉阳区,武昌区,青山区,洪山区,东西湖区,汉南区,蔡甸区,江夏区,黄陂区,新洲区",
    "name,district\n黄鹤楼,武昌区\n光谷广场,洪山区\n",
    "东湖新技术开发区·鲁磨路“光谷”（关山街道）",
]
# characters outside GBK, which only GB18030 (or UTF) can hold
GB18030_ONLY_TEXT = ["𠮷野家", "䶮"]


@pytest.mark.parametrize("text", WUHAN_TEXT)
@pytest.mark.parametrize(
    ("codec", "expected"),
    [("utf-8", DecodedText("", "utf-8", had_bom=False)), ("utf-8-sig", DecodedText("", "utf-8", had_bom=True)),
     ("gbk", DecodedText("", "gbk", had_bom=False)), ("gb18030", DecodedText("", "gbk", had_bom=False)),
     ("utf-16", DecodedText("", "utf-16", had_bom=True))],
)
def test_wuhan_text_in_each_encoding_decodes_back_exactly(text, codec, expected):
    # GB18030 bytes of text that GBK also holds are GBK bytes: they are reported as gbk
    assert decode_bytes(text.encode(codec)) == DecodedText(text, expected.encoding, expected.had_bom)


@pytest.mark.parametrize("text", WUHAN_TEXT + GB18030_ONLY_TEXT)
@pytest.mark.parametrize("codec", ["utf-8", "gb18030"])
def test_a_declared_encoding_decodes_its_own_bytes_exactly(text, codec):
    assert decode_bytes(text.encode(codec), declared=codec).text == text


@pytest.mark.parametrize("text", GB18030_ONLY_TEXT)
def test_characters_gbk_cannot_hold_are_detected_as_gb18030(text):
    assert decode_bytes(text.encode("gb18030")) == DecodedText(text, "gb18030", had_bom=False)


def test_gbk_that_happens_to_look_like_utf8_lead_bytes_is_still_gbk():
    # 联通 in GBK is C1 AA CD A8, the classic Notepad trap; C1 can never start UTF-8
    assert decode_bytes("联通".encode("gbk")).encoding == "gbk"


def test_ascii_and_empty_data_are_utf8():
    assert decode_bytes(b"lon,lat\n114.3,30.6\n") == DecodedText("lon,lat\n114.3,30.6\n", "utf-8", had_bom=False)
    assert decode_bytes(b"") == DecodedText("", "utf-8", had_bom=False)


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [(codecs.BOM_UTF8 + "汉阳区".encode(), None, DecodedText("汉阳区", "utf-8", had_bom=True)),
     (codecs.BOM_UTF8 + "汉阳区".encode(), "utf-8", DecodedText("汉阳区", "utf-8", had_bom=True)),
     (codecs.BOM_UTF8 + "汉阳区".encode(), "UTF8", DecodedText("汉阳区", "utf-8", had_bom=True)),
     (codecs.BOM_UTF8 + "汉阳区".encode(), "utf-8-sig", DecodedText("汉阳区", "utf-8", had_bom=True)),
     ("汉阳区".encode(), "utf-8-sig", DecodedText("汉阳区", "utf-8", had_bom=False)),
     (codecs.BOM_UTF16_LE + "汉阳区".encode("utf-16-le"), None, DecodedText("汉阳区", "utf-16", had_bom=True)),
     (codecs.BOM_UTF16_BE + "汉阳区".encode("utf-16-be"), None, DecodedText("汉阳区", "utf-16", had_bom=True)),
     ("汉阳区".encode("gbk"), "cp936", DecodedText("汉阳区", "gbk", had_bom=False))],
)
def test_a_byte_order_mark_is_dropped_from_the_text_and_reported(data, declared, expected):
    decoded = decode_bytes(data, declared=declared)
    assert decoded == expected
    assert not decoded.text.startswith("\ufeff")


# (data, declared, message, encoding, offset)
BAD_DATA = [
    pytest.param(
        b"id,name\n1," + "江岸区".encode("gbk"), "utf-8",
        "the data is not valid utf-8: byte 0xbd at offset 10 cannot be decoded; it decodes as gbk, "
        "so try --encoding gbk", "utf-8", 10, id="gbk-declared-utf8"),
    pytest.param(
        "武汉市".encode(), "gbk",
        "the data is not valid gbk: byte 0x82 at offset 8 cannot be decoded; it decodes as utf-8, "
        "so try --encoding utf-8", "gbk", 8, id="utf8-declared-gbk"),
    pytest.param(
        "𠮷野家".encode("gb18030"), "gbk",
        "the data is not valid gbk: byte 0x95 at offset 0 cannot be decoded; it decodes as gb18030, "
        "so try --encoding gb18030", "gbk", 0, id="gb18030-declared-gbk"),
    pytest.param(
        "硚口区".encode("gbk"), "GB2312",
        "the data is not valid gb2312: byte 0xb3 at offset 0 cannot be decoded; it decodes as gbk, "
        "so try --encoding gbk", "gb2312", 0, id="gbk-declared-gb2312"),
    pytest.param(
        "汉".encode() + b"\xff", "utf-8",
        "the data is not valid utf-8: byte 0xff at offset 3 cannot be decoded; try --encoding gb18030, "
        "or fix the damaged bytes", "utf-8", 3, id="damaged-utf8"),
    pytest.param(
        codecs.BOM_UTF8 + "汉".encode() + b"\xff", "utf-8",
        "the data is not valid utf-8: byte 0xff at offset 6 cannot be decoded", "utf-8", 6, id="offset-counts-the-bom"),
    pytest.param(
        codecs.BOM_UTF8 + "江岸区".encode(), "gbk",
        "the data starts with a UTF-8 byte-order mark but 'gbk' was declared; it is UTF-8, try --encoding utf-8",
        "gbk", 0, id="bom-declared-gbk"),
    pytest.param(
        b"x", "gbkk", "'gbkk' is not a text encoding Python knows: name one such as --encoding utf-8, gbk or gb18030",
        None, None, id="unknown-name"),
    pytest.param(
        b"x", "base64",
        "'base64' is not a text encoding Python knows: name one such as --encoding utf-8, gbk or gb18030",
        None, None, id="not-a-text-codec"),
    pytest.param(
        b"\x80\xff", None,
        "cannot tell the text encoding: the data is not utf-8 (byte 0x80 at offset 0), gbk (byte 0x80 at offset 0) "
        "or gb18030 (byte 0x80 at offset 0); name its encoding with --encoding, e.g. --encoding big5",
        None, None, id="nothing-decodes"),
    pytest.param(
        codecs.BOM_UTF8 + b"\xff", None,
        "the data starts with a utf-8 byte-order mark but is not valid utf-8: byte 0xff at offset 3 cannot be "
        "decoded; the file is damaged, or name its real encoding with --encoding", "utf-8", 3, id="bom-then-junk"),
]


@pytest.mark.parametrize(("data", "declared", "message", "encoding", "offset"), BAD_DATA)
def test_undecodable_data_is_refused_in_one_line_naming_the_encoding_and_the_bad_byte(
    data, declared, message, encoding, offset
):
    with pytest.raises(TextEncodingError) as caught:
        decode_bytes(data, declared=declared)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert (caught.value.encoding, caught.value.offset) == (encoding, offset)
    assert isinstance(caught.value, ValueError)


def a_cut_inside_a_character(data: bytes, codec: str, after: int = 40) -> int:
    """The first prefix length beyond ``after`` that ends inside a multi-byte character of ``codec``."""
    for size in range(after, len(data)):
        try:
            data[:size].decode(codec)
        except UnicodeDecodeError:
            return size
    raise AssertionError("no multi-byte character in the data")


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [("名称,地址\n黄鹤楼,武昌区蛇山西山坡特1号\n" * 50, "gbk", "gbk"),
     ("名称,地址\n黄鹤楼,武昌区蛇山西山坡特1号\n" * 50, "utf-8", "utf-8"),
     ("地名,𠮷野家\n" * 50, "gb18030", "gb18030")],
)
def test_a_sample_that_cuts_a_character_in_two_is_not_taken_for_a_bad_byte(tmp_path, text, codec, expected):
    data = text.encode(codec)
    cut = a_cut_inside_a_character(data, codec)
    path = tmp_path / "places.csv"
    path.write_bytes(data)
    assert detect_file_encoding(path, sample_bytes=cut) == FileEncoding(expected, False, cut, whole_file=False)
    assert detect_file_encoding(path) == FileEncoding(expected, False, len(data), whole_file=True)


def test_a_file_whose_chinese_comes_after_a_long_ascii_stretch_is_decided_by_its_chinese(tmp_path):
    ascii_rows = "".join(f"{114 + i / 1000:.3f},{30 + i / 1000:.3f},\n" for i in range(500))
    data = ("lon,lat,name\n" + ascii_rows).encode() + "114.3,30.5,洪山区\n".encode("gbk")
    path = tmp_path / "points.csv"
    path.write_bytes(data)
    found = detect_file_encoding(path, sample_bytes=1000)
    assert found.encoding == "gbk"
    assert found.bytes_examined == len(data) and found.whole_file


def test_a_byte_order_mark_tells_read_csv_to_skip_it(tmp_path):
    path = tmp_path / "districts.csv"
    path.write_bytes(codecs.BOM_UTF8 + "区名,人口\n江岸区,96.5\n".encode())
    found = detect_file_encoding(path)
    assert found == FileEncoding("utf-8", True, path.stat().st_size, whole_file=True)
    assert found.codec == "utf-8-sig"
    assert list(pd.read_csv(path, encoding=found.codec).columns) == ["区名", "人口"]


def test_a_file_that_nothing_decodes_is_refused_naming_the_file_and_the_offset_in_it(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"a" * 100 + b"\x80\xff")
    with pytest.raises(TextEncodingError, match=r"^.*broken\.csv: cannot tell the text encoding: the data is not "
                                                 r"utf-8 \(byte 0x80 at offset 100\)"):
        detect_file_encoding(path, sample_bytes=40)


def test_an_empty_file_is_utf8_and_a_tiny_sample_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert detect_file_encoding(path) == FileEncoding("utf-8", False, 0, whole_file=True)
    with pytest.raises(ValueError, match="sample_bytes must be at least 4"):
        detect_file_encoding(path, sample_bytes=2)


def mangle(text: str, written_as: str, read_as: str, errors: str = "strict") -> str:
    """What ``text`` becomes when its ``written_as`` bytes are read as ``read_as``."""
    return text.encode(written_as).decode(read_as, errors)


# (damaged value, kind, repaired)
MOJIBAKE = [
    pytest.param("姝︽眽", "UTF-8 read as GBK", "武汉", id="utf8-as-gbk-brief-example"),
    pytest.param(mangle("武汉长江大桥", "utf-8", "gbk"), "UTF-8 read as GBK", "武汉长江大桥", id="utf8-as-gbk"),
    pytest.param(mangle("湖北省博物馆", "utf-8", "gb18030"), "UTF-8 read as GBK", "湖北省博物馆",
                 id="utf8-as-gb18030"),
    pytest.param(mangle("一元街道", "utf-8", "gbk", "replace").replace("\ufffd", "?"), "UTF-8 read as GBK",
                 "\ufffd元\ufffd道", id="utf8-as-gbk-lost-bytes-written-as-?"),
    pytest.param(mangle("汉口火车站", "utf-8", "gbk", "ignore"), "UTF-8 read as GBK", "汉口\ufffd车站",
                 id="utf8-as-gbk-lost-bytes-dropped"),
    pytest.param("æ\u00ad¦æ±‰", "UTF-8 read as Latin-1/Windows-1252", "武汉", id="utf8-as-cp1252-brief-example"),
    pytest.param(mangle("武汉市", "utf-8", "latin-1"), "UTF-8 read as Latin-1/Windows-1252", "武汉市",
                 id="utf8-as-latin1"),
    pytest.param(mangle("Zürich", "utf-8", "latin-1"), "UTF-8 read as Latin-1/Windows-1252", "Zürich",
                 id="utf8-as-latin1-european"),
    pytest.param(mangle("江汉区", "gbk", "latin-1"), "GBK read as Latin-1/Windows-1252", "江汉区", id="gbk-as-latin1"),
    pytest.param(mangle("硚口区", "gbk", "latin-1"), "GBK read as Latin-1/Windows-1252", "硚口区",
                 id="gbk-as-latin1-rare-character"),
    pytest.param(mangle("武汉市洪山区", "gbk", "utf-8", "replace"), "replacement characters", None,
                 id="gbk-as-utf8-replaced"),
    pytest.param(mangle("\ufffd\ufffd江岸区", "utf-8", "gbk", "replace"),
                 "replacement characters read again as GBK (锟斤拷)", None, id="double-replacement"),
    pytest.param("洪山\udcb3\udcf8", "undecoded bytes (lone surrogates)", None, id="surrogateescape"),
]


@pytest.mark.parametrize(("value", "kind", "repaired"), MOJIBAKE)
def test_damaged_text_is_flagged_with_the_mistake_and_what_it_probably_said(value, kind, repaired):
    damage = diagnose_text(value)
    assert damage is not None
    assert (damage.value, damage.kind, damage.repaired) == (value, kind, repaired)
    assert damaged_text([value]) == [value]


CLEAN = [
    "湖北省武汉市洪山区珞喻路1037号", "江岸区", "硚口区", "东西湖区", "黄陂区", "东湖新技术开发区", "文物", "国家级",
    "1号楼2单元301室", "光谷广场（地铁站）", "“武汉”·光谷", "武汉—北京", "是否开放?", "什么??", "Wuhan", "114.305",
    "30.59276", "", "GDP2016", "王喆", "李堃", "赟", "淼淼", "燚", "𠮷野家", "䶮", "龘", "Müller", "Zürich",
    "São Paulo", "Þórðar", "Ærøskøbing", "café", "naïve", "25°C", "±5%", "€100", "½", "東京都", "서울특별시",
    "Привет", "Ελλάδα", "¿Qué?",
]


@pytest.mark.parametrize("value", CLEAN)
def test_ordinary_text_in_any_script_is_not_flagged(value):
    assert diagnose_text(value) is None


def test_damaged_text_lists_each_damaged_string_once_in_order_and_skips_other_values():
    bad = mangle("武汉", "utf-8", "gbk")
    values = pd.Series(["江岸区", bad, None, 3.5, "2012\ufffd值", bad, float("nan"), ["list"]])
    assert damaged_text(values) == [bad, "2012\ufffd值"]
    assert damaged_text(CLEAN) == []


def test_the_real_geojson_holds_damaged_property_keys_and_clean_values(shared_data: Path):
    path = shared_data / "geo" / "wuhan_central7_districts_gdp_CRS84.geojson"
    decoded = decode_bytes(path.read_bytes())
    assert (decoded.encoding, decoded.had_bom) == ("utf-8", False)
    features = json.loads(decoded.text)["features"]
    keys = [key for feature in features for key in feature["properties"]]
    # GBK keys (2012年...) were decoded as UTF-8 with replacement before the file was written
    assert damaged_text(keys) == [f"{year}\ufffd\ufffd\ufffd\ufffd\u05b5" for year in range(2012, 2017)]
    assert "NAME" not in damaged_text(keys) and "文物" not in damaged_text(keys)
    frame = pd.DataFrame([feature["properties"] for feature in features])
    assert damaged_fields(frame) == {}
    assert len(damaged_text(frame.columns)) == 5
    assert sorted(frame["NAME"]) == sorted(["江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区"])


def test_damaged_fields_counts_the_rows_of_each_text_column_that_hold_damage():
    frame = pd.DataFrame({
        "name": ["江岸区", mangle("光谷广场", "utf-8", "gbk"), mangle("光谷广场", "utf-8", "gbk"), None],
        "address": ["珞喻路1037号", "鲁磨路", mangle("武汉市洪山区", "gbk", "utf-8", "replace"), "关山大道"],
        "kind": pd.array(["学校", "道路", "广场", pd.NA], dtype="string"),
        "gdp": [1.0, 2.0, 3.0, 4.0],
        "tags": [["a"], {"k": "v"}, mangle("武汉", "utf-8", "latin-1"), None],
    })
    assert damaged_fields(frame) == {"name": 2, "address": 1, "tags": 1}


@pytest.mark.parametrize(
    ("counts", "message"),
    [({}, None),
     ({"NAME": 12}, "column NAME (12 values) holds damaged text (mojibake or replacement characters); "
                    "the file was probably saved in the wrong encoding"),
     ({"NAME": 12, "ADDR": 1}, "columns NAME (12 values), ADDR (1 value) hold damaged text (mojibake or replacement "
                               "characters); the file was probably saved in the wrong encoding")],
)
def test_the_ingest_warning_names_the_columns_and_counts(counts, message):
    assert damage_warning(counts) == message
