from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.settings import Settings


def test_settings_come_from_the_environment_with_the_twin_prefix(monkeypatch):
    monkeypatch.setenv("TWIN_PORT", "9001")
    monkeypatch.setenv("TWIN_HOST", "0.0.0.0")
    monkeypatch.setenv("TWIN_DATA", "/srv/city")
    assert Settings() == Settings(port=9001, host="0.0.0.0", data=Path("/srv/city"))


def test_a_port_out_of_range_is_refused(monkeypatch):
    monkeypatch.setenv("TWIN_PORT", "70000")
    with pytest.raises(ValidationError, match="less than or equal to 65535"):
        Settings()
