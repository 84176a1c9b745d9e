"""Residents, dwellings, organisations and addresses ingested into a demo city's store, by their addresses."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cim.ingest import IngestRequest
from tests.cim.test_privacy import with_check
from twin.city_ingest import IngestFailed, ingest_file
from twin.city_store import CityStore


@pytest.fixture()
def store(city_dir) -> CityStore:
    return CityStore.open(city_dir)


def _plates(store: CityStore, n: int) -> pd.DataFrame:
    plates = store.read("addresses")
    return plates[plates["building_code"].notna()].head(n).reset_index(drop=True)


def _write(path, rows: list[dict], encoding: str = "gbk"):
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def test_residents_are_placed_by_address_and_nothing_personal_is_stored(store, tmp_path):
    plates = _plates(store, 3)
    ids = [with_check(f"4201061990030{7000 + i}") for i in range(4)]
    path = _write(tmp_path / "人口.csv", [
        {"姓名": "张三", "身份证号": ids[0], "电话": "13812345678", "地址": plates["text"][0]},
        # the short form, without province and city, and a room in the building
        {"姓名": "李四", "身份证号": ids[1], "电话": "",
         "地址": plates["text"][1].replace("湖北省武汉市", "") + "1单元101室"},
        {"姓名": "王五", "身份证号": ids[2], "电话": "027-88886666", "地址": plates["text"][2]},
        {"姓名": "赵六", "身份证号": ids[3], "电话": "13900001111", "地址": "湖北省武汉市不存在区某某路1号"},
    ])
    before = store.require("residents").rows
    report = ingest_file(store, IngestRequest(kind="residents", path=path, mode="append"),
                         salt_file=tmp_path / "salt")
    assert report.features == 3, report.warnings
    residents = store.read("residents")
    assert len(residents) == before + 3
    new = residents.tail(3).reset_index(drop=True)
    assert new["building_code"].astype(str).tolist() == plates["building_code"].astype(str).tolist()
    born = date(1990, 3, 7)
    age = date.today().year - born.year - ((date.today().month, date.today().day) < (born.month, born.day))
    assert new["age"].tolist() == [age] * 3
    assert new["sex"].astype(str).tolist() == ["F", "M", "F"]  # the 17th digit: even for women
    assert new["phone_masked"].tolist()[0] == "138****5678" and pd.isna(new["phone_masked"][1])
    # no name, no ID number, no full phone number anywhere in the stored file
    raw = (store.folder / store.require("residents").file).read_bytes()
    for secret in ("张三".encode(), ids[0].encode(), b"13812345678", b"88886666"):
        assert secret not in raw
    review = pd.read_csv(store.folder / "review" / "人口.residents.review.csv", encoding="utf-8-sig")
    assert review["address"].tolist() == ["湖北省武汉市不存在区某某路1号"]
    assert review["row"].tolist() == [5]
    assert not any(ids[3] in str(v) or "赵六" in str(v) for v in review.to_numpy().ravel())
    assert any("1 rows could not be placed" in w for w in report.warnings)


def test_the_same_person_gets_the_same_id_and_an_update_moves_them(store, tmp_path):
    plates = _plates(store, 2)
    person = with_check("42010219851212002")
    first = _write(tmp_path / "a.csv", [{"身份证号": person, "地址": plates["text"][0]}])
    moved = _write(tmp_path / "b.csv", [{"身份证号": person, "地址": plates["text"][1]}])
    salt = tmp_path / "salt"
    ingest_file(store, IngestRequest(kind="residents", path=first, mode="append"), salt_file=salt)
    rows = store.require("residents").rows
    with pytest.raises(IngestFailed, match="every row being appended to the residents table is there already"):
        ingest_file(store, IngestRequest(kind="residents", path=moved, mode="append"), salt_file=salt)
    ingest_file(store, IngestRequest(kind="residents", path=moved, mode="update"), salt_file=salt)
    residents = store.read("residents")
    assert len(residents) == rows
    assert residents.tail(1)["building_code"].astype(str).item() == str(plates["building_code"][1])
    assert residents.tail(1)["sex"].astype(str).item() == "F" and residents.tail(1)["age"].item() >= 40


def test_residents_with_id_numbers_and_no_salt_are_refused_and_nothing_changes(store, tmp_path):
    plates = _plates(store, 1)
    path = _write(tmp_path / "p.csv", [{"身份证号": with_check("42010219851212002"), "地址": plates["text"][0]}])
    entry = store.require("residents")
    (tmp_path / "short").write_bytes(b"x")
    with pytest.raises(IngestFailed, match=r"^p.csv: it holds ID numbers, .* no salt is configured; set "
                                           r"TWIN_SALT_FILE; nothing was written$"):
        ingest_file(store, IngestRequest(kind="residents", path=path, mode="append"), salt_file=None)
    with pytest.raises(IngestFailed, match=r"is 1 bytes; a salt needs 16 or more .*nothing was written$"):
        ingest_file(store, IngestRequest(kind="residents", path=path, mode="append"), salt_file=tmp_path / "short")
    assert CityStore.open(store.folder).require("residents") == entry


def test_organisations_without_coordinates_take_their_building_by_address(store, tmp_path):
    plates = _plates(store, 2)
    path = _write(tmp_path / "单位.csv", [
        {"单位名称": "友堤小学", "单位类型": "", "地址": plates["text"][0], "职工人数": 80},
        {"单位名称": "汉川药房", "单位类型": "药店", "地址": plates["text"][1], "职工人数": 6},
        {"单位名称": "无名公司", "单位类型": "公司", "地址": "火星路1号", "职工人数": 3},
    ], encoding="utf-8")
    report = ingest_file(store, IngestRequest(kind="organisations", path=path, mode="append"))
    orgs = store.read("organisations").tail(2).reset_index(drop=True)
    assert report.features == 2
    assert orgs["name"].tolist() == ["友堤小学", "汉川药房"]
    assert orgs["kind"].astype(str).tolist() == ["school", "clinic"]  # by name, then by its kind column
    assert orgs["building_code"].astype(str).tolist() == plates["building_code"].astype(str).tolist()
    buildings = store.read("buildings").set_index("code")
    assert buildings.loc[str(plates["building_code"][0]), "geometry"].contains(orgs.geometry[0])


def test_dwellings_by_building_code_and_a_row_without_a_room_is_refused(store, tmp_path):
    code = str(_plates(store, 1)["building_code"][0])
    path = _write(tmp_path / "房屋.csv", [{"楼栋编码": code, "单元": 9, "房号": "2101", "面积": 88.5}])
    ingest_file(store, IngestRequest(kind="dwellings", path=path, mode="append"))
    row = store.read("dwellings").tail(1).iloc[0]
    # the id: building code, unit in two digits, room in four; the floor read from the room number
    assert (row["dwelling_id"], int(row["unit"]), int(row["floor"]), row["room"]) == (code + "092101", 9, 21, "2101")
    bad = _write(tmp_path / "bad.csv", [{"楼栋编码": code, "单元": 1, "房号": "", "面积": 50}])
    with pytest.raises(IngestFailed, match=r"^bad.csv: row 2 has no room number"):
        ingest_file(store, IngestRequest(kind="dwellings", path=bad, mode="append"))


def test_residents_with_the_salt_inside_the_city_folder_are_refused(store, tmp_path):
    plates = _plates(store, 1)
    path = _write(tmp_path / "people.csv", [{"身份证号": with_check("42010219851212002"), "地址": plates["text"][0]}])
    before = store.require("residents").content_hash
    with pytest.raises(IngestFailed, match=r"^the salt file .* is inside the city folder .*; keep it outside "
                                           r"\(set TWIN_SALT_FILE, default ~/.config/city-twin/salt\); nothing was "
                                           r"written$"):
        ingest_file(store, IngestRequest(kind="residents", path=path, mode="append"),
                    salt_file=store.folder / "salt")
    assert store.require("residents").content_hash == before and not (store.folder / "salt").exists()
