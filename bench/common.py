"""What every benchmark shares: a timer and the one-JSON-line-per-comparison output."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def report(bench: str, ours: float, baseline: str, baseline_value: float | None, unit: str, **extra: Any) -> dict:
    """Print one comparison as a JSON line. ``ratio`` is ours / baseline: below 1, ours is smaller or faster."""
    line = {
        "bench": bench,
        "ours": _figures(ours),
        "baseline": baseline,
        "baseline_value": _figures(baseline_value) if baseline_value is not None else None,
        "unit": unit,
        "ratio": _figures(ours / baseline_value) if baseline_value else None,
        **extra,
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def _figures(value: float) -> float | int:
    """Four significant figures (whole numbers such as byte counts stay whole)."""
    if isinstance(value, int):
        return value
    return float(f"{value:.4g}")
