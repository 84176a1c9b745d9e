"""ID numbers, phone numbers and salts: what is kept, what is hidden, what is refused."""

from __future__ import annotations

import stat
from datetime import date

import numpy as np
import pandas as pd
import pytest

from cim.privacy import PrivacyError, birth_and_sex, load_salt, mask_phones, person_ids, valid_id


def with_check(first17: str) -> str:
    """An ID number with its GB 11643 check character computed."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_the_check_character_is_verified():
    good = with_check("42010619900307731")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    values = pd.Series(["11010519491231002X", good, wrong, "12345", None, good.lower()])
    assert valid_id(values).tolist() == [True, True, False, False, False, True]


def test_age_and_sex_are_read_from_the_number():
    ids = pd.Series([with_check("42010619900307731"), with_check("42010220000308002"), "not a number",
                     with_check("42010220300101002")])
    age, sex = birth_and_sex(ids, today=date(2026, 3, 7))
    # born 1990-03-07: 36 on the day; born 2000-03-08: still 25 the day before; a birth in 2030 is no birth
    assert age.tolist() == [36, 25, -1, -1]
    assert sex.tolist() == ["M", "F", "", ""]


def test_person_ids_are_stable_per_salt_and_differ_across_salts():
    ids = pd.Series(["11010519491231002X", "11010519491231002x ", "420106199003077310"])
    a, b = person_ids(ids, b"s" * 32), person_ids(ids, b"t" * 32)
    assert a[0] == a[1] != a[2]  # case and spaces do not make another person
    assert not np.intersect1d(a, b).size
    assert (a > 0).all() and a.dtype == np.int64
    assert "11010519491231002" not in str(a.tolist())


def test_phone_numbers_keep_only_their_ends():
    masked = mask_phones(pd.Series(["13812345678", "027-8888 6666", "12345", None]))
    assert masked.iloc[0] == "138****5678"
    assert masked.iloc[1] == "027****6666"
    assert masked.iloc[2:].isna().all()


def test_a_salt_is_made_private_and_kept(tmp_path):
    path = tmp_path / "conf" / "salt"
    salt = load_salt(path)
    assert len(salt) == 32 and load_salt(path) == salt
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_short_salt_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "salt"
    path.write_bytes(b"abc")
    with pytest.raises(PrivacyError, match=r"salt in .*salt is 3 bytes; a salt needs 16 or more"):
        load_salt(path)


def test_a_salt_inside_the_city_folder_is_refused_and_not_made(tmp_path):
    city = tmp_path / "city"
    city.mkdir()
    with pytest.raises(PrivacyError, match=r"^the salt file .*/city/secret/salt is inside the city folder .*/city: "
                                           r"whoever has the folder could undo the hashed ID numbers; keep it outside "
                                           r"\(set TWIN_SALT_FILE, default ~/.config/city-twin/salt\)$"):
        load_salt(city / "secret" / "salt", outside=city)
    assert not (city / "secret").exists()
    assert len(load_salt(tmp_path / "salt", outside=city)) == 32  # beside the folder is fine
