"""Personal data at ingest: ID numbers become salted hashes, phone numbers are masked, names are dropped.

A resident's ID number (居民身份证号, 18 characters) is never stored: it becomes a keyed hash (HMAC-SHA256
with a salt that is kept outside the city folder), so the same person gets the same ``person_id`` in
every file without the number being recoverable from the store. What the number says openly (date of
birth, sex) is read first, so age and sex need no other column. Phone numbers keep their first three
and last four digits (138****5678). Columns of personal names are never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ID_COLUMNS = ("id_number", "id_card", "身份证号", "身份证", "公民身份号码", "证件号码", "sfzh", "idcard")
PHONE_COLUMNS = ("phone", "mobile", "tel", "telephone", "电话", "手机", "手机号", "联系电话", "lxdh")
NAME_COLUMNS = ("name", "姓名", "xm", "full_name", "person_name", "户主姓名", "联系人")
_ID = re.compile(r"^\d{17}[\dXx]$")
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = "10X98765432"
SALT_BYTES = 32


class PrivacyError(ValueError):
    """Personal data that cannot be protected as asked (no salt, say)."""


def load_salt(path: Path, *, outside: Path | None = None) -> bytes:
    """The salt in ``path``, made (random, readable by its owner only) if the file does not exist yet.

    ``outside``: the city folder; a salt inside it is refused (whoever has the folder could then undo the
    hashes by trying every ID number), and none is made there.
    """
    path = Path(path).expanduser()
    if outside is not None and path.resolve().is_relative_to(Path(outside).expanduser().resolve()):
        raise PrivacyError(
            f"the salt file {path} is inside the city folder {outside}: whoever has the folder could undo the "
            f"hashed ID numbers; keep it outside (set TWIN_SALT_FILE, default ~/.config/city-twin/salt)")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as f:
            f.write(os.urandom(SALT_BYTES))
    salt = path.read_bytes()
    if len(salt) < 16:
        raise PrivacyError(f"the salt in {path} is {len(salt)} bytes; a salt needs 16 or more (delete it to make one)")
    return salt


def valid_id(values: pd.Series) -> np.ndarray:
    """Which values are well-formed 18-character ID numbers with a correct check character (GB 11643)."""
    text = values.astype("string").str.strip().str.upper()
    shaped = text.str.fullmatch(_ID.pattern).fillna(False).to_numpy()
    out = np.zeros(len(values), dtype=bool)
    if shaped.any():
        ids = text[shaped].to_numpy().astype(str)
        digits = np.array([[int(c) for c in s[:17]] for s in ids])
        check = np.array([_CHECK[i] for i in (digits @ _WEIGHTS) % 11])
        out[np.flatnonzero(shaped)] = check == np.array([s[17] for s in ids])
    return out


def person_ids(values: pd.Series, salt: bytes) -> np.ndarray:
    """A stable int64 per ID number (a keyed hash); the number itself cannot be read back from it."""
    text = values.astype("string").str.strip().str.upper().fillna("")
    out = np.empty(len(text), dtype=np.int64)
    for i, value in enumerate(text.to_numpy().astype(str)):
        digest = hmac.new(salt, value.encode(), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "big") >> 1  # 63 bits: a positive int64
    return np.maximum(out, 1)


def birth_and_sex(values: pd.Series, *, today: date | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Age (whole years today) and sex ("M"/"F") read from ID numbers; -1 and "" where it cannot be read."""
    today = today or date.today()
    text = values.astype("string").str.strip().fillna("")
    shaped = text.str.fullmatch(r"\d{17}[\dXx]").fillna(False)
    born = pd.to_datetime(text.where(shaped).str[6:14], format="%Y%m%d", errors="coerce")
    ok = born.notna().to_numpy() & (born.dt.year.to_numpy(na_value=0) <= today.year)
    year, month, day = (born.dt.year.to_numpy(na_value=0), born.dt.month.to_numpy(na_value=0),
                        born.dt.day.to_numpy(na_value=0))
    before_birthday = (today.month < month) | ((today.month == month) & (today.day < day))
    age = np.where(ok, today.year - year - before_birthday, -1).astype(np.int16)
    odd = pd.to_numeric(text.str[16], errors="coerce").fillna(0).to_numpy() % 2 == 1
    sex = np.where(ok, np.where(odd, "M", "F"), "").astype(object)
    return age, sex


def mask_phones(values: pd.Series) -> pd.Series:
    """Phone numbers with all but the first three and last four digits hidden: 138****5678."""
    digits = values.astype("string").str.replace(r"\D", "", regex=True)
    long_enough = digits.str.len() >= 7
    masked = digits.str[:3] + digits.str.len().sub(7).clip(lower=0).map(lambda n: "*" * int(n), na_action="ignore") \
        + digits.str[-4:]
    return masked.where(long_enough, pd.NA).astype("string")
