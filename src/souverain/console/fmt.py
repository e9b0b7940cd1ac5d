"""How the console writes numbers and times for people (the raw numbers go in ``data-value``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def num(value: float | int | None) -> str:
    """A number with about three significant digits; ``–`` for none."""
    if value is None:
        return "–"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def when(value: Any) -> str:
    """A UTC timestamp to the second (datetime, epoch seconds or ISO text)."""
    if value is None:
        return "–"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def yes_no(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


FILTERS = {"num": num, "pct": pct, "when": when, "yes_no": yes_no}
