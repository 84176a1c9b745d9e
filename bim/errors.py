"""The error a BIM ingest raises for a user: what is wrong with which file, and what to do, on one line."""

from __future__ import annotations

from twin.errors import TwinError


class BimError(TwinError):
    """An IFC file that cannot be read, placed or linked; nothing was written."""
