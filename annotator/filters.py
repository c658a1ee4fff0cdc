"""Template filters shared by every page: dates and durations shown the same way everywhere."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from .models import isoformat


def when(moment: datetime | str | None, empty: str = "never") -> str:
    """'2024-05-01 14:03 UTC' from a datetime or an RFC 3339 string; `empty` for None."""
    if moment is None or moment == "":
        return empty
    text = isoformat(moment) if isinstance(moment, datetime) else moment
    return text[:16].replace("T", " ") + " UTC"


def hours_minutes(seconds: int | float | None) -> str:
    """h:mm, e.g. 1:05 for 3900 s; minutes are truncated, never rounded up."""
    minutes = int(seconds or 0) // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def init_app(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(hours_minutes, "hmm")
