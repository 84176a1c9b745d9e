"""A real server and a real Chromium (Debian's, driven by Playwright from pip; no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from bench.server import serve_city

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def server_url(built_city_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with serve_city(built_city_dir, free_port(), log) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
