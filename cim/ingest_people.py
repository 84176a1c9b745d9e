"""Residents, dwellings and standard addresses (the "三实" that hang on the "一标").

A row is placed in its building by, in this order: a building code column, its address text (matched to
the city's register of standard addresses, exact first, then fuzzy; a match below the threshold goes to
the review list, never to a guess), or its coordinates (the footprint it falls in). Rows that cannot be
placed are left out of the table and listed for review (without anything personal but the address).

Residents are protected on the way in (:mod:`cim.privacy`): ID numbers become salted hashes, phone
numbers are masked, and name columns are dropped.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.columns import ADDRESS, find_column, numbers, text
from cim.ingest import Context, IngestError, IngestRequest
from cim.level_join import assign_codes, representative_points
from cim.levels import Level, level_columns
from cim.privacy import ID_COLUMNS, NAME_COLUMNS, PHONE_COLUMNS, birth_and_sex, mask_phones, person_ids, valid_id

BUILDING_CODE = ("building_code", "楼栋编码", "楼栋代码", "ldbm", "建筑编码")
AGE = ("age", "年龄", "nl")
SEX = ("sex", "gender", "性别", "xb")
UNIT = ("unit", "单元", "单元号", "dy")
ROOM = ("room", "室", "房号", "门牌室号", "fh")
FLOOR = ("floor", "楼层", "所在层", "lc")
AREA = ("area", "area_m2", "面积", "建筑面积", "mj")


def _buildings_needed(context: Context, name: str) -> gpd.GeoDataFrame:
    if context.buildings is None or not len(context.buildings):
        raise IngestError(f"{name}: the city has no buildings to place its rows in; ingest or build them first")
    return context.buildings


def place_in_buildings(frame: pd.DataFrame, context: Context, name: str, warnings: list[str]
                       ) -> tuple[pd.Series, pd.DataFrame]:
    """Each row's building code (null where it could not be placed) and the review list of rows left out."""
    buildings = _buildings_needed(context, name)
    known = set(buildings["code"].astype(str))
    code = pd.Series(pd.NA, index=frame.index, dtype="string")
    how = []
    column = find_column(frame, BUILDING_CODE)
    if column is not None:
        given = text(frame[column])
        unknown = given.notna() & ~given.isin(known)
        if unknown.any():
            warnings.append(f"{int(unknown.sum())} rows name a building code the city does not have (e.g. "
                            f"{given[unknown].iloc[0]}): placed by their address or position instead")
        code = given.where(~unknown)
        how.append("building code")
    review = pd.DataFrame(columns=["row", "address", "reason", "candidates"])
    address = find_column(frame, ADDRESS)
    if address is not None and code.isna().any():
        if context.matcher is None:
            raise IngestError(f"{name}: rows placed by address need the city's register of standard addresses; "
                              f"build or ingest the addresses first")
        todo = np.flatnonzero(code.isna().to_numpy())
        texts = text(frame[address]).iloc[todo].fillna("").tolist()
        result = context.matcher(texts, to_building=True)
        hits = result.matches
        code.iloc[todo[hits["query_index"].to_numpy()]] = hits["building_code"].astype(str).to_numpy()
        if len(result.review):
            rows = todo[result.review["query_index"].to_numpy()]
            review = pd.DataFrame({"row": rows + 2, "address": result.review["query"].to_numpy(),
                                   "reason": "no standard address matched well enough",
                                   "candidates": result.review.get("candidates", pd.Series([""] * len(rows)))
                                   .astype(str).to_numpy()})
        how.append(f"address ({len(hits)} matched, {len(result.review)} to review)")
    if isinstance(frame, gpd.GeoDataFrame) and code.isna().any():
        todo = np.flatnonzero(code.isna().to_numpy())
        points = gpd.GeoDataFrame({"i": todo}, geometry=representative_points(frame.geometry.to_numpy()[todo]),
                                  crs="EPSG:4326")
        hits = gpd.sjoin(points, buildings[["code", "geometry"]], predicate="within", how="inner")
        hits = hits[~hits["i"].duplicated()]
        code.iloc[hits["i"].to_numpy()] = hits["code"].astype(str).to_numpy()
        how.append("position")
    if not how:
        raise IngestError(f"{name}: rows are placed by a building code, an address or coordinates, and it has none "
                          f"of them (its columns are {[c for c in frame.columns if c != 'geometry']}); add a "
                          f"{BUILDING_CODE[1]}, {ADDRESS[1]} or lon/lat column")
    left = code.isna() & ~pd.Series(np.isin(np.arange(len(frame)), review["row"].to_numpy() - 2), index=frame.index)
    if left.any():
        review = pd.concat([review, pd.DataFrame({
            "row": np.flatnonzero(left.to_numpy()) + 2,
            "address": text(frame[address]).to_numpy()[left.to_numpy()] if address else "",
            "reason": "no building code, matched address or footprint", "candidates": ""})], ignore_index=True)
    if code.isna().all():
        raise IngestError(f"{name}: none of its rows could be placed in a building (by {', '.join(how)}); "
                          f"check the codes, addresses or CRS")
    if code.isna().any():
        warnings.append(f"{int(code.isna().sum())} rows could not be placed in a building: left out and listed "
                        f"for review")
    warnings.append(f"placed by {'; '.join(how)}")
    return code, review


def _dropped_names(frame: pd.DataFrame, warnings: list[str]) -> None:
    names = [c for c in frame.columns if str(c).strip().lower() in NAME_COLUMNS]
    if names:
        warnings.append(f"columns {names} hold personal names: not stored")


def residents(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
              ) -> tuple[str, pd.DataFrame, str]:
    _dropped_names(frame, warnings)
    code, review = place_in_buildings(frame, context, name, warnings)
    placed = code.notna().to_numpy()
    frame, code = frame[placed].reset_index(drop=True), code[placed].reset_index(drop=True)
    id_col = find_column(frame, ID_COLUMNS)
    if id_col is not None:
        if context.salt is None:
            raise IngestError(f"{name}: it holds ID numbers, which are stored only as salted hashes, and no salt "
                              f"is configured; set TWIN_SALT_FILE")
        ids = text(frame[id_col])
        bad = ~valid_id(ids.fillna(""))
        if bad.any():
            warnings.append(f"{int(bad.sum())} ID numbers fail their GB 11643 check character: hashed as given")
        person = person_ids(ids.fillna(""), context.salt)
        age_id, sex_id = birth_and_sex(ids)
        warnings.append(f"column {id_col!r} (ID numbers) stored only as salted hashes (person_id)")
    else:
        salt = hashlib.sha256(str(request.path.resolve()).encode()).digest()
        person = person_ids(pd.Series([str(i) for i in range(len(frame))]), salt)
        age_id, sex_id = np.full(len(frame), -1), np.full(len(frame), "", dtype=object)
        warnings.append("no ID number column: each row counts as a different person (person_id per file and row)")
    age_col, sex_col = find_column(frame, AGE), find_column(frame, SEX)
    age = numbers(frame[age_col]) if age_col else pd.Series(np.nan, index=frame.index)
    age = age.fillna(pd.Series(np.where(age_id >= 0, age_id, np.nan), index=frame.index))
    sex = (text(frame[sex_col]).map(_sex_code) if sex_col else pd.Series(pd.NA, index=frame.index, dtype="string"))
    sex = sex.fillna(pd.Series(np.where(sex_id != "", sex_id, None), index=frame.index, dtype="string"))
    buildings = _buildings_needed(context, name)
    centres = pd.Series(representative_points(buildings.geometry.to_numpy()), index=buildings["code"].astype(str))
    points = centres.reindex(code.to_numpy().astype(str)).to_numpy()
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    rows = pd.DataFrame({
        "person_id": person,
        **{k: pd.Categorical(v) for k, v in level_columns(code.to_numpy().astype(str), Level.BUILDING).items()},
        "age": pd.array(age.round(), dtype="Int16"),
        "sex": pd.Categorical(sex.astype(object).where(sex.notna(), None), categories=["F", "M"]),
        "lon": lon,
        "lat": lat,
    })
    phone_col = find_column(frame, PHONE_COLUMNS)
    if phone_col is not None:
        rows["phone_masked"] = mask_phones(frame[phone_col]).to_numpy()
        warnings.append(f"column {phone_col!r} (phone numbers) stored masked (138****5678)")
    if rows["person_id"].duplicated().any():
        repeated = int(rows["person_id"].duplicated().sum())
        warnings.append(f"{repeated} rows repeat a person already read (same ID number): kept once")
        rows = rows[~rows["person_id"].duplicated()].reset_index(drop=True)
    rows.attrs["review"] = review
    return "residents", rows, "building"


def _sex_code(value: object) -> object:
    if value is None or value is pd.NA:
        return pd.NA
    s = str(value).strip().upper()
    return {"男": "M", "M": "M", "MALE": "M", "1": "M", "女": "F", "F": "F", "FEMALE": "F", "2": "F"}.get(s, pd.NA)


def dwellings(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
              ) -> tuple[str, pd.DataFrame, str]:
    code, review = place_in_buildings(frame, context, name, warnings)
    placed = code.notna().to_numpy()
    frame, code = frame[placed].reset_index(drop=True), code[placed].reset_index(drop=True)
    unit_col, room_col = find_column(frame, UNIT), find_column(frame, ROOM)
    if room_col is None:
        raise IngestError(f"{name}: dwellings need a room column (one of {', '.join(ROOM[:3])} ...)")
    unit = numbers(frame[unit_col]).fillna(1) if unit_col else pd.Series(1.0, index=frame.index)
    room = text(frame[room_col]).str.replace(r"\D", "", regex=True)
    if room.isna().any() or (room == "").any():
        i = int((room.isna() | (room == "")).to_numpy().argmax())
        raise IngestError(f"{name}: row {i + 2} has no room number ({frame[room_col].iloc[i]!r})")
    floor_col, area_col = find_column(frame, FLOOR), find_column(frame, AREA)
    floor = numbers(frame[floor_col]) if floor_col else pd.to_numeric(room.str[:-2], errors="coerce")
    rows = pd.DataFrame({
        "dwelling_id": (code + unit.astype(int).astype(str).str.zfill(2) + room.str.zfill(4)).to_numpy(),
        **level_columns(code.to_numpy().astype(str), Level.BUILDING),
        "unit": unit.astype(np.int16).to_numpy(),
        "floor": floor.fillna(1).astype(np.int16).to_numpy(),
        "room": room.to_numpy().astype(str),
        "area_m2": (numbers(frame[area_col]) if area_col else pd.Series(np.nan, index=frame.index))
        .fillna(0).astype(np.float32).to_numpy(),
    })
    rows.attrs["review"] = review
    return "dwellings", rows, "building"


def addresses(frame: pd.DataFrame, request: IngestRequest, context: Context, warnings: list[str], *, name: str
              ) -> tuple[str, pd.DataFrame, str]:
    from cim.address_parse import parse_addresses

    column = find_column(frame, ADDRESS)
    if column is None:
        raise IngestError(f"{name}: standard addresses need an address column (one of {', '.join(ADDRESS[:3])} ...)")
    if not isinstance(frame, gpd.GeoDataFrame):
        raise IngestError(f"{name}: standard addresses need their door plates' coordinates (lon/lat columns)")
    texts = text(frame[column])
    if texts.isna().any():
        raise IngestError(f"{name}: row {int(texts.isna().to_numpy().argmax()) + 2} has no address")
    points = representative_points(frame.geometry.to_numpy())
    codes = assign_codes(points, context.units, finest=Level.COMPOUND)
    outside = (codes["known_level"] == 0).to_numpy()
    if outside.any():
        warnings.append(f"{int(outside.sum())} addresses lie in no district of the city: skipped")
    keep = ~outside
    texts, points, codes = texts[keep].reset_index(drop=True), points[keep], codes[keep].reset_index(drop=True)
    building = pd.Series(pd.NA, index=codes.index, dtype="string")
    if context.buildings is not None and len(context.buildings):
        hits = gpd.sjoin(gpd.GeoDataFrame({"i": np.arange(len(points))}, geometry=points, crs="EPSG:4326"),
                         context.buildings[["code", "geometry"]], predicate="within")
        hits = hits[~hits["i"].duplicated()]
        building.iloc[hits["i"].to_numpy()] = hits["code"].astype(str).to_numpy()
    parts = parse_addresses(texts)
    ids = [hashlib.sha1(t.encode()).hexdigest()[:20] for t in texts.astype(str)]
    rows = pd.DataFrame({
        "address_id": ids,
        "text": texts.to_numpy().astype(str),
        Level.CITY.column: codes[Level.CITY.column].to_numpy(),
    })
    for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID, Level.COMPOUND):
        rows[level.column] = codes[level.column].where(building.isna(), building.str[: level.digits]).to_numpy()
    rows[Level.BUILDING.column] = building.to_numpy()
    names = {lv: _names(context, lv, rows[lv.column]) for lv in (Level.DISTRICT, Level.STREET)}
    rows["district_name"] = pd.Series(parts["district"]).fillna(names[Level.DISTRICT]).to_numpy()
    rows["street_name"] = pd.Series(parts["street"]).fillna(names[Level.STREET]).to_numpy()
    rows["road"] = parts["road"].to_numpy()
    rows["number"] = pd.array(numbers(pd.Series(parts["number"], dtype="string")).round(), dtype="Int32")
    rows["compound_name"] = parts["compound"].to_numpy()
    rows["building_no"] = pd.array(numbers(pd.Series(parts["building"], dtype="string")).round(), dtype="Int16")
    rows["lon"], rows["lat"] = shapely.get_x(points), shapely.get_y(points)
    for c in ("district_name", "street_name", "road", "compound_name"):
        rows[c] = rows[c].astype("string")
    if rows["address_id"].duplicated().any():
        warnings.append(f"{int(rows['address_id'].duplicated().sum())} addresses appear twice: kept once")
        rows = rows[~rows["address_id"].duplicated()].reset_index(drop=True)
    return "addresses", rows, "building"


def _names(context: Context, level: Level, codes: pd.Series) -> pd.Series:
    units = context.units.by_level.get(level)
    if units is None:
        return pd.Series(pd.NA, index=codes.index, dtype="string")
    lookup = dict(zip(units["code"].astype(str), units["name"].astype(str), strict=False))
    return codes.map(lookup).astype("string")
