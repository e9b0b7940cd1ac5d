"""Time bounds as people write them: an ISO date or datetime (UTC when no zone is given), or a
span before now (``12h``, ``7d``). ``souverain report``, ``ledger export`` and the web console
read periods through :func:`parse_time`, so the same text means the same rows everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FORMS = "2026-03-01, 2026-03-01T09:00, 7d or 12h"


def parse_time(value: str | None, now: datetime | None = None) -> datetime | None:
    """The UTC time ``value`` names; ``None`` for no bound. Raises ``ValueError`` naming the
    accepted forms."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in ("d", "h"):
        unit = "days" if text[-1] == "d" else "hours"
        return (now or datetime.now(UTC)) - timedelta(**{unit: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r}: use {FORMS}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
