"""Settings, read once from the environment (prefix ``TWIN_``) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from twin.errors import TwinError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWIN_", frozen=True)

    data: Path = Field(Path("data/demo"), description="folder of a built city (twin demo build --out)")
    host: str = Field("127.0.0.1", description="address the app listens on")
    port: int = Field(8050, ge=1, le=65535, description="port the app listens on")


def load_settings() -> Settings:
    """The settings from the environment, or a one-line error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TWIN_" + str(first["loc"][0]).upper()
        raise TwinError(f"{name}={first.get('input')!r} is not valid: {first['msg']}; fix or unset {name}") from None
