"""Address matching: free text linked to 1,000,000 standard addresses, ours against an exact dictionary.

    python -m bench.addresses [--scale city|small] [--queries N] [--register N] [--seed S]

The register: the full-scale demo city (300,000 buildings) made into standard addresses by
``register_from_buildings`` (one per building, then dwellings with unit and room) up to ``--register``
(default 1,000,000; 100,000 at ``--scale small``). The queries: N texts (default 100,000) drawn from the
register and written the way people write them, each in one way with a known share (``KINDS``): as in the
register; without 湖北省武汉市; without the district; without the street; the compound and building alone
or the road and door alone; 幢/号楼/座 for 栋; Chinese numerals (十二栋, 二单元, 一二零三室, 七号); full-width
digits with spaces and punctuation; one character wrong or missing in the compound's name or in the road's
(often making the name of another compound: the names are dense); words around it (附近, (东门), 旁边);
several of these at once; two mistakes in one text (both names misspelt, a misspelt compound with no door to
confirm it, or with the wrong door number), which may be linked only to the right address; and addresses
that do not exist (a building or floor the register does not have, a compound or road it does not know),
which must not be linked.

Ours: ``AddressIndex.match`` over all N texts at once. Baseline: a plain exact dictionary, the same run and
the same texts: each text NFKC-normalised, spaces and 湖北省武汉市 removed, then looked up in a dict of the
register's texts treated alike. ``ours`` and ``baseline_value`` are texts handled per second, the fastest of
``--repeats`` runs (each text ends linked or on the review list; ``linked_per_s`` counts the linked ones
only); ``match_rate`` is the share of texts linked; ``precision`` the share of links that name the right
building (``precision_address``: the right dwelling); ``kinds`` gives each way of writing with its share,
match rate and precision. Building the index (``index_build_s``) and the baseline's dict are not timed.
"""

from __future__ import annotations

import argparse
import time
import unicodedata

import numpy as np
import pandas as pd

from bench.common import best_of, report
from cim.address_match import AddressIndex
from cim.address_register_demo import register_from_buildings
from cim.names import COMPOUND_SUFFIXES, ROAD_SUFFIXES
from cim.synthetic import generate_city

#: Each way of writing an address and its share of the queries.
KINDS: dict[str, float] = {
    "as_registered": 0.06,
    "no_province_city": 0.07,
    "no_district": 0.08,
    "no_street": 0.08,
    "short_form": 0.07,
    "building_word": 0.07,
    "chinese_numerals": 0.08,
    "width_spaces": 0.07,
    "typo_compound": 0.09,
    "typo_road": 0.07,
    "extra_words": 0.07,
    "combined": 0.06,
    "two_mistakes": 0.05,
    "not_in_register": 0.08,
}
_CN = "零一二三四五六七八九"
# a misspelling takes a letter from the names' own alphabet (cim.names), so it often spells another real name
_TYPO_CHARS = ("汉江珞武晴民水花黄中南北东西新古龙凤长青梅桃桂丹兴和德安宁平永福友建光明华泰丰盛"
               "阳口湖山林桥园港洲岭岸湾堤门坊台川云塘河苑城亭庄府里源泉景圆琳乐")
# made-up names with no letter of that alphabet: two or more edits from every real name
_UNKNOWN_STEMS = ("紫荆", "翠微", "金色", "锦绣", "世纪", "万科", "保利", "绿地", "融创", "碧玉")
_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def _cn_positional(n: int) -> str:
    """12 → 十二, 7 → 七, 35 → 三十五, 103 → 一百零三."""
    if n < 10:
        return _CN[n]
    if n < 20:
        return "十" + (_CN[n % 10] if n % 10 else "")
    if n < 100:
        return _CN[n // 10] + "十" + (_CN[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + _CN[rest] if rest < 10 else _cn_positional(rest) if rest >= 20
                                 else "一" + _cn_positional(rest))
    return _CN[n // 100] + "百" + tail


def _cn_digits(n: int) -> str:
    """1203 → 一二零三 (rooms are read digit by digit)."""
    return "".join(_CN[int(c)] for c in str(n))


def _typo(name: str, suffixes: tuple[str, ...], rng: np.random.Generator) -> str:
    """One character of the name's stem (not its suffix, not a phase number) wrong or missing."""
    suffix = next((s for s in sorted(suffixes, key=len, reverse=True) if name.endswith(s)), "")
    stem = [i for i, c in enumerate(name[: len(name) - len(suffix)]) if not c.isdigit() and c != "期"]
    at = stem[int(rng.integers(len(stem)))]
    if rng.random() < 0.5:
        return name[:at] + name[at + 1 :]
    while True:
        c = _TYPO_CHARS[int(rng.integers(len(_TYPO_CHARS)))]
        if c != name[at]:
            return name[:at] + c + name[at + 1 :]


def make_queries(register: pd.DataFrame, buildings: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` query texts with the address they mean (None for one that does not exist) and how each is written."""
    rng = np.random.default_rng(seed)
    names = list(KINDS)
    kind = rng.choice(len(names), size=n, p=np.array(list(KINDS.values())) / sum(KINDS.values()))
    pick = rng.integers(0, len(register), size=n)
    reg = register.iloc[pick].reset_index(drop=True)
    max_building = buildings.groupby("compound_code")["building_no"].max()
    floors = buildings.set_index("building_code")["floors"]
    cols = {c: reg[c].to_numpy() for c in ("district_name", "street_name", "road", "number", "compound_name",
                                           "building_no", "address_id", "building_code", "compound_code")}
    cols["unit"] = reg["unit"].fillna(0).to_numpy(dtype=np.int64)  # 0: a building's own address
    cols["room"] = reg["room"].fillna(0).to_numpy(dtype=np.int64)
    texts, truth, truth_building = [], [], []
    for i in range(n):
        k = names[kind[i]]
        parts = {"head": "湖北省武汉市", "district": cols["district_name"][i], "street": cols["street_name"][i],
                 "road": cols["road"][i], "number": f"{cols['number'][i]}号", "compound": cols["compound_name"][i],
                 "building": f"{cols['building_no'][i]}栋", "unit": "", "room": ""}
        dwelling = bool(cols["unit"][i])
        if dwelling:
            parts["unit"] = f"{cols['unit'][i]}单元"
            parts["room"] = f"{cols['room'][i]}室"
        answer, answer_building = cols["address_id"][i], cols["building_code"][i]
        sep = ""
        if k == "no_province_city":
            parts["head"] = ""
        elif k == "no_district":
            parts["head"] = parts["district"] = ""
        elif k == "no_street":
            parts["street"] = ""
            parts["head"] = "" if rng.random() < 0.5 else parts["head"]
            parts["district"] = "" if rng.random() < 0.5 else parts["district"]
        elif k == "short_form":  # the compound and building only, or the road and door only
            parts["head"] = parts["district"] = parts["street"] = ""
            if rng.random() < 0.5:
                parts["road"] = parts["number"] = ""
            else:
                parts["compound"] = ""
        elif k == "combined":  # a misspelt name, levels left out, 幢 and Chinese numerals, all in one text
            parts["head"] = ""
            parts["district"] = "" if rng.random() < 0.5 else parts["district"]
            parts["street"] = "" if rng.random() < 0.5 else parts["street"]
            if rng.random() < 0.5:
                parts["compound"] = _typo(parts["compound"], COMPOUND_SUFFIXES, rng)
            else:
                parts["road"] = _typo(parts["road"], ROAD_SUFFIXES, rng)
            parts["building"] = f"{_cn_positional(int(cols['building_no'][i]))}{rng.choice(['栋', '幢', '号楼'])}"
            if dwelling:
                parts["unit"] = f"{_cn_positional(int(cols['unit'][i]))}单元"
        elif k == "two_mistakes":  # the address exists, but two of its parts are wrong: link it right or not at all
            how = int(rng.integers(3))
            parts["compound"] = _typo(parts["compound"], COMPOUND_SUFFIXES, rng)
            if how == 0:  # both names misspelt
                parts["road"] = _typo(parts["road"], ROAD_SUFFIXES, rng)
            elif how == 1:  # no road or door to confirm the misspelt compound
                parts["road"] = parts["number"] = ""
            else:  # and the door number off
                parts["number"] = f"{cols['number'][i] + int(rng.integers(1, 4))}号"
        elif k == "building_word":
            parts["building"] = f"{cols['building_no'][i]}{rng.choice(['幢', '号楼', '座'])}"
            parts["head"] = "" if rng.random() < 0.5 else "武汉市"
        elif k == "chinese_numerals":
            parts["building"] = f"{_cn_positional(int(cols['building_no'][i]))}栋"
            if rng.random() < 0.5:
                parts["number"] = f"{_cn_positional(int(cols['number'][i]))}号"
            if dwelling:
                parts["unit"] = f"{_cn_positional(int(cols['unit'][i]))}单元"
                parts["room"] = f"{_cn_digits(int(cols['room'][i]))}室"
        elif k == "width_spaces":
            for p in ("number", "building", "unit", "room"):
                parts[p] = parts[p].translate(_WIDE)
            sep = str(rng.choice([" ", "\u3000", "，", " - "]))
        elif k == "typo_compound":
            parts["compound"] = _typo(parts["compound"], COMPOUND_SUFFIXES, rng)
        elif k == "typo_road":
            parts["road"] = _typo(parts["road"], ROAD_SUFFIXES, rng)
        elif k == "extra_words":
            extra = str(rng.choice(["附近", "旁边", "对面", "(东门)", "（南门）", "东门", " 门口"]))
            where = "room" if dwelling else "building"
            if rng.random() < 0.3:
                where = "compound"
            parts[where] = parts[where] + extra
        elif k == "not_in_register":
            answer = answer_building = None
            how = int(rng.integers(4 if dwelling else 3))
            if how == 0:  # a building the compound does not have
                top = int(max_building[cols["compound_code"][i]])
                parts["building"] = f"{top + int(rng.integers(1, 5))}栋"
            elif how == 1:  # a compound the register does not know, at a real door
                parts["compound"] = str(rng.choice(_UNKNOWN_STEMS)) + str(rng.choice(COMPOUND_SUFFIXES))
            elif how == 2:  # a road and compound the register does not know
                parts["road"] = str(rng.choice(_UNKNOWN_STEMS)) + str(rng.choice(ROAD_SUFFIXES))
                parts["compound"] = str(rng.choice(_UNKNOWN_STEMS)) + str(rng.choice(COMPOUND_SUFFIXES))
            else:  # a floor above the top of the building
                top = int(floors[cols["building_code"][i]])
                parts["room"] = f"{(top + int(rng.integers(1, 9))) * 100 + int(cols['room'][i]) % 100}室"
        order = ("head", "district", "street", "road", "number", "compound", "building", "unit", "room")
        texts.append(sep.join(parts[p] for p in order if parts[p]))
        truth.append(answer)
        truth_building.append(answer_building)
    return pd.DataFrame({"text": texts, "address_id": truth, "building_code": truth_building,
                         "kind": [names[k] for k in kind]})


def _plain(text: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", text).split())
    return text.removeprefix("湖北省").removeprefix("武汉市")


def baseline_match(lookup: dict[str, int], texts: list[str]) -> list[int]:
    return [lookup.get(_plain(t), -1) for t in texts]


def _scores(found_building: pd.Series, found_address: pd.Series, queries: pd.DataFrame) -> dict[str, float]:
    linked = found_building.notna()
    right = (found_building == queries["building_code"]) & linked
    right_address = (found_address == queries["address_id"]) & linked
    return {"match_rate": float(linked.mean()), "precision": float(right.sum() / max(int(linked.sum()), 1)),
            "precision_address": float(right_address.sum() / max(int(linked.sum()), 1))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["city", "small"], default="city")
    parser.add_argument("--queries", type=int, default=100_000, help="texts to match (default 100,000)")
    parser.add_argument("--register", type=int, default=None,
                        help="addresses in the register (default 1,000,000; 100,000 at --scale small)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the fastest counts (default 3)")
    args = parser.parse_args(argv)
    size = args.register or (1_000_000 if args.scale == "city" else 100_000)

    city = generate_city(args.seed, args.scale)
    register = register_from_buildings(city.buildings, limit=size)
    started = time.perf_counter()
    index = AddressIndex.build(register)
    build_s = time.perf_counter() - started
    queries = make_queries(register, city.buildings, args.queries, seed=args.seed + 1)
    texts = queries["text"].tolist()

    ours_s, result = best_of(args.repeats, lambda: index.match(texts))
    found = result.matches.set_index("query_index").reindex(range(len(texts)))
    ours = _scores(found["building_code"], found["address_id"], queries)

    lookup: dict[str, int] = {}
    for row, text in enumerate(register["text"].tolist()):
        lookup.setdefault(_plain(text), row)
    base_s, rows = best_of(args.repeats, lambda: np.asarray(baseline_match(lookup, texts)))
    linked = rows >= 0
    base_building = pd.Series(np.where(linked, register["building_code"].to_numpy()[np.maximum(rows, 0)], None))
    base_address = pd.Series(np.where(linked, register["address_id"].to_numpy()[np.maximum(rows, 0)], None))
    base = _scores(base_building, base_address, queries)

    by_kind = {}
    linked_ours = found["building_code"].notna().to_numpy()
    right_ours = (found["building_code"].to_numpy() == queries["building_code"].to_numpy()) & linked_ours
    for kind, group in queries.groupby("kind", sort=False).groups.items():
        at = np.asarray(group)
        by_kind[kind] = {"share": round(len(at) / len(texts), 4), "match_rate": round(float(linked_ours[at].mean()), 4),
                         "precision": round(float(right_ours[at].sum() / max(int(linked_ours[at].sum()), 1)), 4),
                         "baseline_match_rate": round(float(linked[at].mean()), 4)}
    rules = result.matches["rule"].value_counts().to_dict()
    report("address_matching", len(texts) / ours_s, "exact dict lookup (NFKC, no spaces, no 湖北省武汉市)",
           len(texts) / base_s, "addresses/s",
           match_rate=round(ours["match_rate"], 4), precision=round(ours["precision"], 4),
           precision_address=round(ours["precision_address"], 4),
           baseline_match_rate=round(base["match_rate"], 4), baseline_precision=round(base["precision"], 4),
           linked_per_s=round(result.matched / ours_s), review=result.reviewed,
           not_in_register_linked=int(linked_ours[(queries["kind"] == "not_in_register").to_numpy()].sum()),
           queries=len(texts), register=len(register), index_build_s=round(build_s, 2), scale=args.scale,
           rules=rules, kinds=by_kind)


if __name__ == "__main__":
    main()
