"""The one error type users see: what went wrong, where, and how to fix it, on one line."""

from __future__ import annotations


class TwinError(Exception):
    """An error with a message fit for a user. ``status`` is the HTTP status when it ends a request."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(TwinError):
    status = 404
