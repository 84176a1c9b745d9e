"""Address matching for a whole CSV file: one column matched, the matches and the review list written beside it."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cim.address_match import AddressIndex, AddressMatchError
from cim.text_encoding import TextEncodingError, decode_bytes


@dataclass(frozen=True)
class MatchSummary:
    """What :func:`match_file` did."""

    queries: int
    matched: int
    review: int
    encoding: str
    matches_path: Path
    review_path: Path


def match_file(csv_path: str | os.PathLike, column: str, out_path: str | os.PathLike | None = None, *,
               index: AddressIndex, encoding: str | None = None, to_building: bool = False) -> MatchSummary:
    """Match one column of a CSV file and write ``OUT.csv`` (the matches) and ``OUT.review.csv``.

    The file's encoding is detected (UTF-8 with or without BOM, GBK, GB18030: :func:`cim.text_encoding.
    decode_bytes`) unless ``encoding`` names it.

    The two files have the columns of :attr:`MatchResult.matches` and :attr:`MatchResult.review`;
    ``query_index`` is the row's position in the input (0 for the first row under the header). ``out_path``
    defaults to ``<input>.matched.csv`` beside the input. Both are written in UTF-8, each to a temporary name
    first and then renamed, so an interrupted run leaves no half-written file.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise AddressMatchError(f"{path} is not a file")
    data = path.read_bytes()
    if not data.strip():
        raise AddressMatchError(f"{path} is empty; expected a CSV file with a header row naming {column!r}")
    try:
        decoded = decode_bytes(data, declared=encoding)
    except TextEncodingError as exc:
        raise AddressMatchError(f"{path}: {exc}") from None
    try:
        frame = pd.read_csv(io.StringIO(decoded.text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AddressMatchError(f"{path} is not a readable CSV file: {first}") from None
    if column not in frame.columns:
        raise AddressMatchError(f"{path} has no column {column!r}; its columns are {list(frame.columns)}")

    result = index.match(frame[column], to_building=to_building)
    out = Path(out_path) if out_path is not None else path.with_name(path.stem + ".matched.csv")
    review_path = out.with_name(out.name.removesuffix(".csv") + ".review.csv")
    _write_csv(result.matches, out)
    _write_csv(result.review, review_path)
    return MatchSummary(len(frame), result.matched, result.reviewed, decoded.encoding, out, review_path)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
