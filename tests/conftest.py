"""Shared fixtures: one small demo city per test session, generated and built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cim.synthetic import DemoCity, generate_city
from twin.city_data import CityData, load_city
from twin.demo import build_demo

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO_SEED = 3


@pytest.fixture(scope="session")
def small_city() -> DemoCity:
    return generate_city(DEMO_SEED, "small")


@pytest.fixture(scope="session")
def built_city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "demo"
    build_demo(out, seed=DEMO_SEED, scale="small")
    return out


@pytest.fixture(scope="session")
def city_data(built_city_dir: Path) -> CityData:
    return load_city(built_city_dir)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"the shared test data is missing at {SHARED_DATA}; the repository expects ../shared beside it")
    return SHARED_DATA
