"""Reading Chinese text files in the right encoding, and spotting text that was damaged before it reached us.

GIS staff bring CSV, Shapefile (.dbf) and GeoJSON files written by many tools. Chinese text in them is
stored in one of a few encodings:

- **UTF-8**, sometimes with a byte-order mark (BOM, the bytes EF BB BF) that Excel and Notepad put first;
- **GBK** (Windows code page 936), what Chinese Windows, ArcGIS and older Excel write by default;
- **GB18030**, the national standard: a superset of GBK that can also encode every Unicode character;
- rarely **UTF-16** with a BOM, Excel's "Unicode text".

UTF-8 checks itself: text in GBK almost never forms valid UTF-8, so "valid UTF-8" is strong evidence.
GBK and GB18030 accept most byte sequences, so they are tried after UTF-8, GBK first (the encoding is then
reported as "gbk"; its text is the same as GB18030's for such bytes).

Damage done before the file reached us cannot be undone by choosing an encoding here; it can only be
spotted. It comes in two forms: **replacement characters** (U+FFFD "�", where a tool met bytes it could not
decode and threw them away), and **mojibake**, text decoded with the wrong codec and saved again: UTF-8
bytes read as GBK ("姝︽眽" for 武汉), as Latin-1/Windows-1252 ("æ­¦æ±‰"), or GBK bytes read as Latin-1
("Îäºº"). Mojibake is spotted by undoing the suspected mistake (encode with the wrong codec, decode with the
right one) and checking that the result is valid, clean text that reads more like ordinary Chinese than the
value did. Ordinary Chinese, English, numbers, addresses and names with rare characters survive that test
as themselves, and are not flagged.

Measured on about 130,000 clean strings (Wuhan's 193 street names and the road and district names of the
shared test data; random strings of common and of rare GBK hanzi, with and without "?"; random addresses with
numbers; a few dozen words in other scripts), none was flagged.
Of mojibake made from the same Chinese, all was flagged when the wrong decoding kept every byte or wrote
U+FFFD; about 98% when it wrote "?" for lost bytes or dropped them (the misses are short names that lost half
their bytes). Not detected: GBK bytes that happen to be valid UTF-8 (rare: "鲁磨路" read as UTF-8 is
"³ĥ·"), and Chinese that a tool replaced by "?" altogether.

Example::

    >>> decode_bytes("武汉市洪山区".encode("gbk"))
    DecodedText(text='武汉市洪山区', encoding='gbk', had_bom=False)
    >>> damaged_text(["江岸区", "姝︽眽", "2012\\ufffd\\ufffd值", "Wuhan"])
    ['姝︽眽', '2012��值']
    >>> diagnose_text("武汉".encode("utf-8").decode("cp1252"))
    TextDamage(value='æ\\xad¦æ±‰', kind='UTF-8 read as Latin-1/Windows-1252', repaired='武汉')
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

UTF8 = "utf-8"
GBK = "gbk"
GB18030 = "gb18030"
UTF16 = "utf-16"

#: What detection tries, in order, when the data has no byte-order mark.
CANDIDATES = (UTF8, GBK, GB18030)

DEFAULT_SAMPLE_BYTES = 1 << 20

# (mark, encoding reported, codec for the bytes after the mark)
_BOMS = (
    (codecs.BOM_UTF8, UTF8, UTF8),
    (codecs.BOM_UTF16_LE, UTF16, "utf-16-le"),
    (codecs.BOM_UTF16_BE, UTF16, "utf-16-be"),
)

# Windows-1252 puts printable characters where Latin-1 has C1 controls (0x80-0x9F): "‰" is byte 0x89.
_CP1252_BYTES: Mapping[str, int] = MappingProxyType(
    {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
)

# UTF-8 of two U+FFFD, read as GBK: what a replacement character becomes after a second wrong decoding.
_DOUBLE_REPLACEMENT = "锟斤拷"

# Lead bytes of the common hanzi: GB2312 level 1 (3,755 simplified), Big5 level 1 (5,401 traditional).
_COMMON_LEAD_BYTES: Mapping[str, range] = MappingProxyType({"gb2312": range(0xB0, 0xD8), "big5": range(0xA4, 0xC7)})


class TextEncodingError(ValueError):
    """Bytes that cannot be read as text in the encoding declared or in any encoding tried.

    ``encoding`` and ``offset`` (of the first bad byte) are set when one encoding was at fault.
    """

    def __init__(self, message: str, *, encoding: str | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.encoding = encoding
        self.offset = offset


@dataclass(frozen=True)
class DecodedText:
    """Text read from bytes: the text (without any byte-order mark), the codec used, and whether a BOM was there.

    ``encoding`` is Python's name for the codec ("utf-8", "gbk", "gb18030", "utf-16"...), so
    ``data.decode(encoding)`` gives ``text`` back, after the BOM for UTF-8.
    """

    text: str
    encoding: str
    had_bom: bool


@dataclass(frozen=True)
class FileEncoding:
    """The encoding of a file, decided from its first bytes.

    ``bytes_examined`` says how much of the file was read; ``whole_file`` whether that was all of it (if not,
    a bad byte further on will only show when the file is read). ``codec`` is what to pass to ``open`` or
    ``pandas.read_csv`` so that a UTF-8 byte-order mark is skipped rather than read into the first name.
    """

    encoding: str
    had_bom: bool
    bytes_examined: int
    whole_file: bool

    @property
    def codec(self) -> str:
        return "utf-8-sig" if self.had_bom and self.encoding == UTF8 else self.encoding


@dataclass(frozen=True)
class TextDamage:
    """A value whose text was damaged before it reached us: what it is, which mistake, and the text it
    probably was (``repaired``), when that can be recovered (replacement characters cannot be undone).
    """

    value: str
    kind: str
    repaired: str | None


def decode_bytes(data: bytes, *, declared: str | None = None) -> DecodedText:
    """Decode ``data`` in the ``declared`` encoding, or in the one detected when nothing is declared.

    Detection: a byte-order mark decides (UTF-8 or UTF-16); otherwise UTF-8, then GBK, then GB18030, the
    first that decodes every byte. A declared encoding is used as given (any name Python knows: "gbk",
    "GB2312", "cp936", "utf8"...); a UTF-8 BOM is dropped from the text and reported in ``had_bom``.

    Raises ``TextEncodingError`` in one line naming the encoding and the offset of the first bad byte, and
    what to try instead.

    >>> decode_bytes(codecs.BOM_UTF8 + "汉阳区".encode())
    DecodedText(text='汉阳区', encoding='utf-8', had_bom=True)
    >>> decode_bytes("武汉市".encode(), declared="gbk")
    Traceback (most recent call last):
    ...
    cim.text_encoding.TextEncodingError: the data is not valid gbk: byte 0x82 at offset 8 cannot be decoded; \
it decodes as utf-8, so try --encoding utf-8
    """
    if declared is not None:
        return _decode_declared(data, declared)
    encoding, bom_size = _sniff(data, complete=True)
    return DecodedText(data.decode(encoding) if encoding == UTF16 else data[bom_size:].decode(encoding),
                       encoding, bom_size > 0)


def detect_file_encoding(path: str | os.PathLike[str], sample_bytes: int = DEFAULT_SAMPLE_BYTES) -> FileEncoding:
    """The encoding of the file at ``path``, decided from its first ``sample_bytes`` bytes (1 MiB by default).

    The sample may end in the middle of a character; the decoders are told that more may follow, so a cut
    character is not taken for a bad one. Leading stretches of pure ASCII (headers, numbers) read the same
    in every candidate, so while the sample holds nothing else the next ``sample_bytes`` are read too: a
    file whose first Chinese appears after a megabyte of coordinates is still decided by its Chinese.

    Raises ``TextEncodingError`` (naming the file) when no candidate decodes the sample.
    """
    if sample_bytes < 4:
        raise ValueError(f"sample_bytes must be at least 4 (a GB18030 character), not {sample_bytes}")
    with open(path, "rb") as stream:
        head = stream.read(sample_bytes)
        sample, start = head, 0
        while sample.isascii() and len(sample) == sample_bytes:
            start += len(sample)
            sample = stream.read(sample_bytes)
        examined = start + len(sample)
        whole = stream.read(1) == b""
    data = head if start == 0 else sample
    try:
        encoding, bom_size = _sniff(data, complete=whole, base=start)
    except TextEncodingError as exc:
        raise TextEncodingError(f"{os.fspath(path)}: {exc}", encoding=exc.encoding, offset=exc.offset) from None
    return FileEncoding(encoding, bom_size > 0, examined, whole)


def diagnose_text(value: str) -> TextDamage | None:
    """What damage ``value`` shows, or None for text that reads as itself.

    >>> diagnose_text("湖北省武汉市洪山区珞喻路1037号") is None
    True
    >>> diagnose_text("姝︽眽")
    TextDamage(value='姝︽眽', kind='UTF-8 read as GBK', repaired='武汉')
    """
    if value.isascii():
        return None
    if _DOUBLE_REPLACEMENT in value:
        return TextDamage(value, "replacement characters read again as GBK (锟斤拷)", None)
    if "\ufffd" in value:
        return TextDamage(value, "replacement characters", None)
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return TextDamage(value, "undecoded bytes (lone surrogates)", None)
    raw = _single_byte_form(value)
    if raw is not None:
        return _latin1_damage(value, raw)
    return _gbk_damage(value)


def damaged_text(values: Iterable[object]) -> list[str]:
    """The values (once each, in order of first appearance) that hold damaged text; non-strings are skipped.

    Works on any iterable: a list, a pandas Series, a frame's ``columns``.

    >>> damaged_text(pd.Series(["洪山区", None, 3, "Ã©cole", "洪山区"]))
    ['Ã©cole']
    """
    seen: set[str] = set()
    damaged: list[str] = []
    for value in values:
        if isinstance(value, str) and value not in seen:
            seen.add(value)
            if diagnose_text(value) is not None:
                damaged.append(value)
    return damaged


def damaged_fields(frame: pd.DataFrame) -> dict[str, int]:
    """For each text column holding damaged values, how many rows have one; clean columns are left out.

    Each distinct value is diagnosed once. Column *names* can be damaged too: check them with
    ``damaged_text(frame.columns)``.

    >>> damaged_fields(pd.DataFrame({"name": ["江岸区", "姝︽眽", "姝︽眽"], "gdp": [1.0, 2.0, 3.0]}))
    {'name': 2}
    """
    counts: dict[str, int] = {}
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
            continue
        # object columns from GeoJSON may hold lists and dicts too: look at the strings only
        values = column.to_numpy(dtype=object, na_value=None)
        texts = pd.Series(values[np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))],
                          dtype=object)
        bad = damaged_text(pd.unique(texts))
        if bad:
            counts[str(name)] = counts.get(str(name), 0) + int(texts.isin(bad).sum())
    return counts


def damage_warning(counts: Mapping[str, int]) -> str | None:
    """The one-line warning for the ingest to show about ``damaged_fields``' result, or None if all is clean.

    >>> damage_warning({"NAME": 12, "ADDR": 1})
    'columns NAME (12 values), ADDR (1 value) hold damaged text (mojibake or replacement characters); \
the file was probably saved in the wrong encoding'
    """
    if not counts:
        return None
    listed = ", ".join(f"{name} ({n} value{'s' if n != 1 else ''})" for name, n in counts.items())
    if len(counts) == 1:
        return (f"column {listed} holds damaged text (mojibake or replacement characters); "
                "the file was probably saved in the wrong encoding")
    return (f"columns {listed} hold damaged text (mojibake or replacement characters); "
            "the file was probably saved in the wrong encoding")


def _decode_declared(data: bytes, declared: str) -> DecodedText:
    try:
        name = codecs.lookup(declared).name
        "".encode(name)  # refuses codecs that are not text encodings (base64, rot13...)
    except LookupError:
        raise TextEncodingError(
            f"{declared!r} is not a text encoding Python knows: name one such as --encoding utf-8, gbk or gb18030"
        ) from None
    if name == "utf-8-sig":
        name = UTF8
    skip = 0
    if data.startswith(codecs.BOM_UTF8):
        if name != UTF8:
            raise TextEncodingError(
                f"the data starts with a UTF-8 byte-order mark but {declared!r} was declared; "
                "it is UTF-8, try --encoding utf-8", encoding=name, offset=0)
        skip = 3
    try:
        text = data[skip:].decode(name)
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        raise TextEncodingError(
            f"the data is not valid {name}: byte 0x{data[offset]:02x} at offset {offset} cannot be decoded; "
            f"{_suggestion(data, name)}", encoding=name, offset=offset) from None
    had_bom = skip > 0 or (name.startswith(("utf-16", "utf-32")) and data[:2] in (b"\xff\xfe", b"\xfe\xff"))
    return DecodedText(text, name, had_bom)


def _suggestion(data: bytes, failed: str) -> str:
    try:
        guess, _ = _sniff(data, complete=True)
    except TextEncodingError:
        guess = None
    if guess is not None and guess != failed:
        return f"it decodes as {guess}, so try --encoding {guess}"
    others = [name for name in (GB18030, UTF8) if name != failed]
    return "try " + " or ".join(f"--encoding {name}" for name in others) + ", or fix the damaged bytes"


def _sniff(data: bytes, *, complete: bool, base: int = 0) -> tuple[str, int]:
    """(encoding, BOM length) of ``data``; ``complete`` False when more bytes follow the ones given."""
    for bom, encoding, body_codec in _BOMS:
        if data.startswith(bom):
            error = _first_error(data[len(bom):], body_codec, complete=complete)
            if error is not None:
                offset = base + len(bom) + error.start
                raise TextEncodingError(
                    f"the data starts with a {encoding} byte-order mark but is not valid {encoding}: byte "
                    f"0x{error.object[error.start]:02x} at offset {offset} cannot be decoded; the file is damaged, "
                    "or name its real encoding with --encoding", encoding=encoding, offset=offset)
            return encoding, len(bom)
    failures = []
    for encoding in CANDIDATES:
        error = _first_error(data, encoding, complete=complete)
        if error is None:
            return encoding, 0
        failures.append(f"{encoding} (byte 0x{error.object[error.start]:02x} at offset {base + error.start})")
    raise TextEncodingError(
        f"cannot tell the text encoding: the data is not {', '.join(failures[:-1])} or {failures[-1]}; "
        "name its encoding with --encoding, e.g. --encoding big5")


def _first_error(data: bytes, encoding: str, *, complete: bool) -> UnicodeDecodeError | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(data, final=complete)
    except UnicodeDecodeError as exc:
        return exc
    return None


def _single_byte_form(value: str) -> bytes | None:
    """The bytes ``value`` came from if it was decoded as Latin-1/Windows-1252, or None if it cannot have been."""
    out = bytearray()
    for ch in value:
        code = ord(ch)
        if code < 0x100:
            out.append(code)
        elif ch in _CP1252_BYTES:
            out.append(_CP1252_BYTES[ch])
        else:
            return None
    return bytes(out)


def _latin1_damage(value: str, raw: bytes) -> TextDamage | None:
    try:
        repaired = raw.decode(UTF8)
    except UnicodeDecodeError:
        pass
    else:
        # valid multi-byte UTF-8 made of Latin-1 letters does not happen by chance
        if _clean(repaired):
            return TextDamage(value, "UTF-8 read as Latin-1/Windows-1252", repaired)
    c1_controls = any("\x80" <= ch <= "\x9f" for ch in value)
    for encoding in (GBK, GB18030):
        try:
            repaired = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        hanzi = [ch for ch in repaired if _is_hanzi(ch)]
        if len(hanzi) < 2 or not _clean(repaired):
            continue
        # European words almost never pair up their accented letters into everyday hanzi
        common = sum(_weight(ch, "gb2312") > 0 for ch in hanzi)
        if c1_controls or (common >= 2 and common * 2 > len(hanzi)):
            return TextDamage(value, f"{encoding.upper()} read as Latin-1/Windows-1252", repaired)
    return None


def _gbk_damage(value: str) -> TextDamage | None:
    """UTF-8 bytes that were decoded as GBK (or GB18030): encode back and decode as UTF-8.

    The mistake keeps ASCII as it was (both encodings share it), so a repair that makes or loses ASCII
    characters is no repair. A tool that met a byte it could not decode wrote "?" for it, or dropped it,
    breaking one character each time: such a value repairs to text with a few gaps, which counts when at
    least half of its bytes decode into a repair that reads better than the value.
    """
    ascii_chars = [ch for ch in value if ch.isascii() and ch != "?"]
    for encoding in (GBK, GB18030):
        try:
            raw = value.encode(encoding)
        except UnicodeEncodeError:
            continue
        repaired = "\ufffd".join(piece.decode(UTF8, errors="replace") for piece in raw.split(b"?"))
        repaired = re.sub("\ufffd+", "\ufffd", repaired)
        readable = repaired.replace("\ufffd", "")
        lost = "\ufffd" in repaired
        if lost and not all(ch.isascii() or _is_chinese(ch) for ch in readable):
            continue  # what survives a few lost bytes of Chinese is Chinese
        if (
            sum(_is_hanzi(ch) for ch in readable) >= 2
            and len(readable.encode(UTF8)) * 2 >= len(raw) - raw.count(b"?")
            and [ch for ch in readable if ch.isascii()] == ascii_chars
            and _clean(readable)
            and (_score(readable) > _score(value) or (not lost and _score(readable) == _score(value)))
        ):
            return TextDamage(value, "UTF-8 read as GBK", repaired)
    return None


def _clean(text: str) -> bool:
    """No control, unassigned, private-use or replacement characters: text a person could have typed."""
    for ch in text:
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs") or ch == "\ufffd":
            return False
    return bool(text)


def _is_hanzi(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\U00020000" <= ch <= "\U0003134f"


def _is_chinese(ch: str) -> bool:
    """A hanzi, or punctuation of Chinese text (、。《》【】“”…—· and full-width forms)."""
    return (_is_hanzi(ch) or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or "\u2010" <= ch <= "\u2027"
            or ch == "\u00b7")


def _score(text: str) -> float:
    """How much ``text`` reads like everyday Chinese, simplified or traditional, from 0 to 2.

    Over its non-ASCII characters, the mean of 2 for a common hanzi (the 3,755 of GB2312 level 1, or the
    5,401 of Big5 level 1), 1 for the rest of that character set (rarer hanzi, punctuation, Greek, Cyrillic,
    kana) and 0 for anything else; the better of the two character sets counts. Mojibake is made mostly of
    the rest of GBK, mixing rare simplified and rare traditional hanzi.
    """
    wide = [ch for ch in text if not ch.isascii()]
    if not wide:
        return 2.0
    return max(sum(_weight(ch, charset) for ch in wide) / len(wide) for charset in _COMMON_LEAD_BYTES)



def _weight(ch: str, charset: str) -> int:
    """2 if ``ch`` is a common hanzi of ``charset``, 1 if it is elsewhere in it, 0 if it is not in it."""
    try:
        code = ch.encode(charset)
    except UnicodeEncodeError:
        return 0
    return 2 if code[0] in _COMMON_LEAD_BYTES[charset] else 1
