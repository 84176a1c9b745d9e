"""The register of streets and townships (街道/乡镇): official names and codes, without shapes.

The National Bureau of Statistics publishes every street and township with its 9-digit code (the
6-digit county code of GB/T 2260 and three digits of GB/T 10114). Boundaries that come without codes
take them from here by name, within their district; a name the register does not know is reported.

>>> register = StreetRegister.read(path)  # doctest: +SKIP
>>> register.code_of("420102", "大智街道")  # doctest: +SKIP
'420102002'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cim.columns import digits, find_column, text


class RegisterError(ValueError):
    """A register that cannot be read, or a lookup that cannot be answered."""


_SUFFIXES = re.compile(r"(街道办事处|街道|办事处|乡|镇|街)$")


def name_key(name: str) -> str:
    """A street's name without its kind (街道/乡/镇), so 大智街道, 大智街 and 大智街道办事处 agree."""
    return _SUFFIXES.sub("", str(name).strip())


@dataclass(frozen=True)
class StreetRegister:
    """Street and township codes and names, one row each (``code``, ``name``, ``district_code``)."""

    table: pd.DataFrame

    @classmethod
    def read(cls, path: Path, *, city_code: str = "420100") -> StreetRegister:
        from cim.readers import decode_text

        path = Path(path)
        text_, _ = decode_text(path.read_bytes(), path=path, encoding=None)
        import io

        frame = pd.read_csv(io.StringIO(text_), dtype=str)
        code_col, name_col = find_column(frame, ("code",)), find_column(frame, ("name",))
        if code_col is None or name_col is None:
            raise RegisterError(f"{path.name}: a street register needs 'code' and 'name' columns, it has "
                                f"{list(frame.columns)}")
        codes = digits(frame[code_col])
        bad = ~codes.str.fullmatch(r"\d{9}").fillna(False)
        if bad.any():
            raise RegisterError(f"{path.name}: row {int(bad.to_numpy().argmax()) + 2} has code "
                                f"{frame[code_col].iloc[int(bad.to_numpy().argmax())]!r}, not 9 digits")
        table = pd.DataFrame({"code": codes.astype(str), "name": text(frame[name_col]).astype(str)})
        table["district_code"] = table["code"].str[:6]
        table = table[table["code"].str.startswith(city_code[:4])].reset_index(drop=True)
        return cls(table)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> StreetRegister:
        """The street rows of a store's ``register`` table."""
        streets = rows[rows["level"].astype(str) == "street"]
        table = pd.DataFrame({"code": streets["code"].astype(str), "name": streets["name"].astype(str)})
        table["district_code"] = table["code"].str[:6]
        return cls(table.reset_index(drop=True))

    def code_of(self, district_code: str, name: str) -> str | None:
        rows = self.table[(self.table["district_code"] == district_code)
                          & (self.table["name"].map(name_key) == name_key(name))]
        return str(rows["code"].iloc[0]) if len(rows) else None

    def codes_for(self, district_codes: pd.Series, names: pd.Series) -> pd.Series:
        """The code of each (district, name) pair, null where the register has no such street."""
        keys = self.table.assign(key=self.table["name"].map(name_key)).set_index(["district_code", "key"])["code"]
        wanted = pd.MultiIndex.from_arrays([district_codes.astype(str), names.astype(str).map(name_key)])
        found = keys.reindex(wanted)
        return pd.Series(found.to_numpy(), index=names.index, dtype="string")
