"""Shared fixtures: one small demo city per test session, the real PostgreSQL and Redis of the machine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cim.synthetic import DemoCity, generate_city
from twin.city_store import CityStore
from twin.demo import build_demo
from twin.services import Services, open_services
from twin.settings import load_settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO_SEED = 3
POSTGRES = "postgresql://127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def small_city() -> DemoCity:
    return generate_city(DEMO_SEED, "small")


@pytest.fixture(scope="session")
def built_city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city, built once; tests must not write to it (use ``city_dir`` for that)."""
    out = tmp_path_factory.mktemp("city") / "demo"
    build_demo(out, seed=DEMO_SEED, scale="small")
    return out


@pytest.fixture(scope="session")
def city_store(built_city_dir: Path) -> CityStore:
    return CityStore.open(built_city_dir)


@pytest.fixture(scope="session")
def services(built_city_dir: Path) -> Iterator[Services]:
    """The services over the session's city, not started (no threads)."""
    s = open_services(load_settings(data=built_city_dir))
    yield s
    s.close()


@pytest.fixture
def city_dir(tmp_path: Path) -> Path:
    """A small city of this test's own (300 buildings), to write to."""
    out = tmp_path / "city"
    build_demo(out, seed=DEMO_SEED, buildings=300)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"the shared test data is missing at {SHARED_DATA}; the repository expects ../shared beside it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres() -> str:
    """The machine's PostgreSQL, or a failure that says how to start it."""
    engine = sa.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432 ({exc.orig}); .ci/run starts it")
    finally:
        engine.dispose()
    return POSTGRES


@pytest.fixture
def pg_url(postgres: str) -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a schema of this test's own, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{postgres}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each live-state test runs on both backends: None means SQLite in the city folder."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it")
    finally:
        client.close()
    return REDIS


#: The roles of the test client and browser: they see, and may do, everything.
VIEWER_ROLES = ("commander", "gis_admin", "admin")


def token_for(services: Services, *roles: str, department: str | None = None) -> str:
    """A new API token with ``roles`` in the services' live store."""
    from twin.permissions import Grant, Role

    grants = [Grant(Role(r), department=department if r == "handler" else None) for r in roles]
    return services.tokens.add(f"test-{uuid.uuid4().hex[:10]}", grants=grants, created_by="tests").token


def client_as(services: Services, *roles: str, department: str | None = None):
    """A test client of the app over ``services`` that sends a token with ``roles`` (none: no credentials)."""
    from app import create_app

    client = create_app(services).server.test_client()
    if roles:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(services, *roles, department=department)}"
    return client


def viewer_client(services: Services):
    return client_as(services, *VIEWER_ROLES)
