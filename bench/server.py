"""Servers for the benchmarks and the browser tests: ``twin serve`` in a child process, and a baseline's
small Flask app on a thread."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask
from werkzeug.serving import BaseWSGIServer, make_server


def serve_in_thread(app: flask.Flask, port: int) -> BaseWSGIServer:
    """Serve ``app`` on 127.0.0.1:``port`` from a daemon thread; call ``shutdown()`` on the result to stop."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def serve_city(
    data: Path, port: int, log: Path, *, seconds: float = 120, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Serve the city in ``data`` on 127.0.0.1:``port`` until the block ends; yields the page URL.

    ``env`` adds settings (``TWIN_...``) for the server.
    """
    twin = Path(sys.executable).parent / "twin"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(twin), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
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
