"""Settings, read once from the environment (prefix ``TWIN_``) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from twin.errors import TwinError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWIN_", frozen=True)

    data: Path = Field(Path("data/demo"), description="the city folder (the store) that twin reads and writes")
    host: str = Field("127.0.0.1", description="address the app listens on")
    port: int = Field(8050, ge=1, le=65535, description="port the app listens on")
    database_url: str | None = Field(
        None, description="live state in PostgreSQL (postgresql://...); unset: SQLite in the city folder"
    )
    queue_url: str | None = Field(
        None, description="job queue on Redis (redis://...); unset: SQLite in the city folder"
    )
    worker: Literal["embedded", "external"] = Field(
        "embedded", description="embedded: twin serve runs the jobs itself; external: twin worker processes do"
    )
    worker_threads: int = Field(2, ge=1, le=64, description="jobs one worker runs at once")
    salt_file: Path = Field(
        Path("~/.config/city-twin/salt"),
        description="the key for hashing ID numbers at ingest; kept outside the city folder (made if missing)",
    )
    server_threads: int = Field(32, ge=4, le=512, description="requests served at once (each live stream holds one)")
    guest: bool = Field(
        False, description="let visitors who have not signed in see the public layers, read-only (twin serve --guest)"
    )
    secure_cookies: bool = Field(
        False, description="send the session cookies over HTTPS only (set it when a TLS proxy stands in front)"
    )
    bim_max_mb: int = Field(200, ge=1, le=4096, description="the largest IFC file a planner may upload, in MB")
    max_streams: int | None = Field(
        None, ge=1, le=256, description="live streams open at once (each holds a thread); default half the threads"
    )


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (``overrides`` win), or a one-line error naming the bad variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TWIN_" + str(first["loc"][0]).upper()
        raise TwinError(f"{name}={first.get('input')!r} is not valid: {first['msg']}; fix or unset {name}") from None
