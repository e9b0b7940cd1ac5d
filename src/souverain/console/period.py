"""The period a page looks at: ``since``/``until`` as ``souverain report`` reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from souverain.ledger.period import FORMS, parse_time

#: the default period: the last 24 hours (``?since=`` with nothing after it means all time)
DEFAULT_SINCE = "24h"
PRESETS = (
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("", "All time"),
)


@dataclass(frozen=True)
class Period:
    since_text: str
    until_text: str
    since: datetime | None
    until: datetime | None
    now: datetime
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        for value, label in PRESETS:
            if self.since_text == value and not self.until_text:
                return label
        start = self.since.strftime("%Y-%m-%d %H:%M UTC") if self.since else "the first row"
        end = self.until.strftime("%Y-%m-%d %H:%M UTC") if self.until else "now"
        return f"{start} to {end}"

    def query(self) -> dict[str, str]:
        """The query parameters that give this period again."""
        out = {"since": self.since_text}
        if self.until_text:
            out["until"] = self.until_text
        return out


def read_period(params: Mapping[str, str], now: datetime | None = None) -> Period:
    """The period in a page's query (``since``, ``until``); a bad value is reported and that
    bound falls back to its default (24 hours ago, or no end)."""
    now = now or datetime.now(UTC)
    since_text = params.get("since", DEFAULT_SINCE).strip()
    until_text = params.get("until", "").strip()
    errors: list[str] = []
    try:
        since = parse_time(since_text, now)
    except ValueError:
        errors.append(f"From: {since_text!r} is not a time; use {FORMS}.")
        since_text, since = DEFAULT_SINCE, parse_time(DEFAULT_SINCE, now)
    try:
        until = parse_time(until_text, now)
    except ValueError:
        errors.append(f"Until: {until_text!r} is not a time; use {FORMS}.")
        until_text, until = "", None
    return Period(since_text, until_text, since, until, now, errors)
