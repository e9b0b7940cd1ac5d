"""The ledger's one record type and the canonical form its hash is computed over.

A :class:`LedgerRecord` is everything the ledger keeps about one request: who (API key *name*),
what for (use case), where it went (backend, operator, jurisdiction, location), what policy
decided, which kinds of data were detected (counts only) and what it cost. It never holds prompt
or completion text: there is no field for it.

The hash of a sealed row is ``sha256(canonical_json(fields))`` where ``fields`` are
:data:`HASHED_FIELDS` (every content column plus ``writer_id``, ``created_at``, ``sealed_at`` and
``prev_hash``)
after :func:`canonical_value` normalises each value by the column's type, so that a value read
back from SQLite or PostgreSQL hashes exactly as it did when it was written.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["request", "bench", "drill"]
Decision = Literal["served", "pseudonymized", "refused", "failed"]
Status = Literal["pending", "completed", "refused", "failed", "interrupted"]

KINDS: tuple[str, ...] = ("request", "bench", "drill")
DECISIONS: tuple[str, ...] = ("served", "pseudonymized", "refused", "failed")
STATUSES: tuple[str, ...] = ("pending", "completed", "refused", "failed", "interrupted")
FINAL_STATUSES: tuple[str, ...] = STATUSES[1:]
ENERGY_METHODS: tuple[str, ...] = (
    "measured:nvml",
    "measured:rapl",
    "estimated:cpu-time",
    "estimated:parameters",
    "unknown",
)

#: The hash of "no previous row": the first sealed row's ``prev_hash``.
GENESIS_HASH = "0" * 64


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class LedgerRecord:
    """One request as the ledger records it. Field names are the column names."""

    request_id: str
    ts: datetime = field(default_factory=utcnow)
    kind: Kind = "request"
    api_key_name: str | None = None
    use_case: str | None = None
    backend: str | None = None
    #: What was asked: ``chat``, ``text_completion``, ``embeddings`` (OTel GenAI operation names),
    #: ``responses`` (POST /v1/responses, served as a chat).
    operation: str | None = None
    #: The model name the client asked for (the gateway's name for it).
    requested_model: str | None = None
    #: The upstream model the backend ran.
    model: str | None = None
    operator: str | None = None
    operator_jurisdiction: str | None = None
    location: str | None = None
    self_hosted: bool | None = None
    open_weights: bool | None = None
    decision: Decision = "served"
    reason: str | None = None
    #: Detected data types and how many of each, e.g. ``{"email": 2}``. Never the values.
    data_types: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: Prompt tokens as the context size the request needed (exit drills compare it).
    context_tokens: int | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    cost_eur: float | None = None
    cost_method: str | None = None
    energy_wh: float | None = None
    energy_wh_low: float | None = None
    energy_wh_high: float | None = None
    energy_method: str = "unknown"
    carbon_g: float | None = None
    grid_gco2_per_kwh: float | None = None
    status: Status = "completed"
    http_status: int | None = None
    error_code: str | None = None
    stream: bool = False
    used_tools: bool = False
    used_json_mode: bool = False

    def content(self) -> dict[str, Any]:
        """The record's fields as a column -> value dict, normalised (:func:`canonical_value`)."""
        out = {}
        for name, normalise in _RECORD_NORMALISE:
            value = getattr(self, name)
            out[name] = None if value is None else normalise(value)
        if out["context_tokens"] is None:
            out["context_tokens"] = out["prompt_tokens"]
        return out

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LedgerRecord:
        values = {k: row[k] for k in RECORD_FIELDS if k in row}
        if isinstance(values.get("data_types"), str):
            values["data_types"] = json.loads(values["data_types"])
        if isinstance(values.get("ts"), datetime):
            values["ts"] = as_utc(values["ts"])
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRecord))

_FLOAT_FIELDS = frozenset(
    {
        "ttft_ms",
        "duration_ms",
        "cost_eur",
        "energy_wh",
        "energy_wh_low",
        "energy_wh_high",
        "carbon_g",
        "grid_gco2_per_kwh",
    }
)
_INT_FIELDS = frozenset({"prompt_tokens", "completion_tokens", "context_tokens", "http_status"})
_BOOL_FIELDS = frozenset({"self_hosted", "open_weights", "stream", "used_tools", "used_json_mode"})
_TIME_FIELDS = frozenset({"ts", "created_at", "sealed_at"})

#: The fields a sealed row's hash covers. ``seq`` is not hashed: a row's place in the chain is
#: fixed by ``prev_hash``; ``seq`` only indexes it (so a moved row shows as "reordered").
HASHED_FIELDS: tuple[str, ...] = (
    *RECORD_FIELDS,
    "writer_id",
    "created_at",
    "sealed_at",
    "prev_hash",
)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive values (SQLite) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_ts(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return as_utc(value)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _counts(value: Any) -> dict[str, int]:
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): int(v) for k, v in sorted(value.items())}


_NORMALISE: dict[str, Any] = {
    **dict.fromkeys(_FLOAT_FIELDS, _finite),
    **dict.fromkeys(_INT_FIELDS, int),
    **dict.fromkeys(_BOOL_FIELDS, bool),
    **dict.fromkeys(_TIME_FIELDS, _time),
    "data_types": _counts,
}


def canonical_value(name: str, value: Any) -> Any:
    """Normalise one column value by its type, as it is stored and as it is hashed."""
    if value is None:
        return None
    return _NORMALISE.get(name, str)(value)


def _time_text(value: Any) -> str:
    """A timestamp as the hash spells it (:func:`format_ts` of the normalised value)."""
    return _time(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


#: (field, how it is normalised): the record's fields (for content()) and the hashed ones (the
#: time fields straight to their text), looked up once rather than per value (the writer
#: thread seals every row with these)
_RECORD_NORMALISE = tuple((name, _NORMALISE.get(name, str)) for name in RECORD_FIELDS)
_HASHED_TEXT = tuple(
    (name, _time_text if name in _TIME_FIELDS else _NORMALISE.get(name, str))
    for name in HASHED_FIELDS
)
#: the same for values normalised already (only the times still to spell)
_SEALED_TEXT = tuple((name, _time_text if name in _TIME_FIELDS else None) for name in HASHED_FIELDS)


def canonical_json(row: dict[str, Any], normalised: bool = False) -> str:
    """The exact text a row's hash is computed over: the hashed fields, normalised, as compact
    JSON with sorted keys; timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. ``normalised``: the
    values are normalised already (:func:`sealed_row_hash`), only the times are spelled."""
    body = {}
    for name, normalise in _SEALED_TEXT if normalised else _HASHED_TEXT:
        value = row.get(name)
        body[name] = value if value is None or normalise is None else normalise(value)
    return _CANONICAL.encode(body)


#: json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False), the encoder
#: built once rather than per row (the same text: json.dumps builds exactly this encoder)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(row: dict[str, Any]) -> str:
    """SHA-256 (hex) of the row's canonical JSON; ``row`` must hold every hashed field."""
    return hashlib.sha256(canonical_json(row).encode("utf-8")).hexdigest()


def sealed_row_hash(row: dict[str, Any]) -> str:
    """:func:`row_hash` of a row whose values are normalised already (:meth:`LedgerRecord.content`
    plus the writer's text ``writer_id``/``prev_hash`` and UTC ``created_at``/``sealed_at``):
    the same text, without normalising every value a second time (the writer thread seals each
    row with it; tests/ledger/test_record.py checks it against :func:`row_hash`)."""
    return hashlib.sha256(canonical_json(row, normalised=True).encode("utf-8")).hexdigest()


def validate(rec: LedgerRecord) -> None:
    """Reject values the schema does not allow (raises ValueError)."""
    if not rec.request_id:
        raise ValueError("request_id is required")
    for name, allowed in (
        ("kind", KINDS),
        ("decision", DECISIONS),
        ("status", STATUSES),
        ("energy_method", ENERGY_METHODS),
    ):
        if getattr(rec, name) not in allowed:
            raise ValueError(f"{name}={getattr(rec, name)!r}: expected one of {', '.join(allowed)}")
    for key, count in rec.data_types.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"data_types[{key!r}] must be a count (int >= 0), not {count!r}")
