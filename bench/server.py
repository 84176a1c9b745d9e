"""Run ``twin serve`` in a child process for the benchmarks and the browser tests."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serve_city(data: Path, port: int, log: Path, *, seconds: float = 120) -> Iterator[str]:
    """Serve the city in ``data`` on 127.0.0.1:``port`` until the block ends; yields the page URL."""
    twin = Path(sys.executable).parent / "twin"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(twin), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process, log, seconds)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the server at {url} did not answer within {seconds} s; see {log}")
