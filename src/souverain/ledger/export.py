"""Export ledger rows: ``jsonl`` (the rows as stored) and ``otel`` (OTLP/JSON spans).

``jsonl``: one JSON object per row with every column, timestamps in UTC ISO 8601 -- enough to
recompute every hash (see docs/ledger.md).

``otel``: one OTLP/JSON ``ExportTraceServiceRequest`` per line (up to ``batch`` spans each), the
format the OpenTelemetry Collector's ``otlpjsonfile`` receiver reads and ``/v1/traces`` accepts.
Each row is one span named ``"{operation} {model}"`` with the OpenTelemetry GenAI semantic
convention attributes (``gen_ai.operation.name``, ``gen_ai.request.model``,
``gen_ai.response.model``, ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``,
``gen_ai.provider.name`` and the older ``gen_ai.system``) and ``souverain.*`` for the rest.
Trace and span ids are derived from the request id, so re-exporting gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from souverain.ledger.record import as_utc, format_ts

FORMATS = ("jsonl", "otel")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Columns exported as ``souverain.<name>`` span attributes (the rest map to gen_ai.* or timing).
_SOUVERAIN_ATTRS = (
    "request_id",
    "kind",
    "api_key_name",
    "use_case",
    "backend",
    "operator",
    "operator_jurisdiction",
    "location",
    "self_hosted",
    "open_weights",
    "decision",
    "reason",
    "context_tokens",
    "ttft_ms",
    "duration_ms",
    "cost_eur",
    "cost_method",
    "energy_wh",
    "energy_wh_low",
    "energy_wh_high",
    "energy_method",
    "carbon_g",
    "grid_gco2_per_kwh",
    "status",
    "http_status",
    "error_code",
    "stream",
    "used_tools",
    "used_json_mode",
    "seq",
    "row_hash",
    "prev_hash",
)


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: format_ts(v) if isinstance(v, datetime) else v for k, v in row.items()}


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(jsonable(row), ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP/JSON encodes int64 as a string
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


#: souverain's operations that are not GenAI semantic-convention values, as the value they are:
#: a Responses API call is a chat (the original stays in ``souverain.operation``)
_OTEL_OPERATIONS = {"responses": "chat"}


def otel_operation(row: dict[str, Any]) -> str:
    operation = row.get("operation") or "chat"
    return _OTEL_OPERATIONS.get(operation, operation)


def span_attributes(row: dict[str, Any]) -> dict[str, Any]:
    """The span attributes for one row, as a plain dict (``None`` values left out)."""
    provider = row.get("operator")
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": otel_operation(row),
        "souverain.operation": row.get("operation"),
        "gen_ai.request.model": row.get("requested_model") or row.get("model"),
        "gen_ai.response.model": row.get("model"),
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.usage.input_tokens": row.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": row.get("completion_tokens"),
        "error.type": row.get("error_code"),
    }
    for name in _SOUVERAIN_ATTRS:
        attrs[f"souverain.{name}"] = row.get(name)
    for data_type, count in sorted((row.get("data_types") or {}).items()):
        attrs[f"souverain.data_types.{data_type}"] = count
    return {k: v for k, v in attrs.items() if v is not None}


def _nanos(value: datetime) -> str:
    delta = as_utc(value) - _EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000)


def to_span(row: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(str(row["request_id"]).encode()).hexdigest()
    start = as_utc(row["ts"])
    end = start + timedelta(milliseconds=row.get("duration_ms") or 0.0)
    model = row.get("model") or row.get("requested_model") or ""
    failed = row.get("status") in ("failed", "interrupted")
    return {
        "traceId": digest[:32],
        "spanId": digest[32:48],
        "name": f"{otel_operation(row)} {model}".strip(),
        "kind": 3,  # SPAN_KIND_CLIENT: the gateway calls a model
        "startTimeUnixNano": _nanos(start),
        "endTimeUnixNano": _nanos(end),
        "attributes": [{"key": k, "value": _any_value(v)} for k, v in span_attributes(row).items()],
        "status": {"code": 2, "message": row.get("error_code") or ""} if failed else {"code": 1},
    }


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_otel(rows: Iterable[dict[str, Any]], out: TextIO, batch: int = 1000) -> int:
    from souverain import __version__

    n = 0
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "souverain"}}]}
    scope = {"name": "souverain.ledger", "version": __version__}
    for chunk in _chunks(rows, batch):
        spans = [to_span(r) for r in chunk]
        scope_spans = [{"scope": scope, "spans": spans}]
        request = {"resourceSpans": [{"resource": resource, "scopeSpans": scope_spans}]}
        out.write(json.dumps(request, ensure_ascii=False) + "\n")
        n += len(spans)
    return n


def export(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; return how many rows were written."""
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "otel":
        return write_otel(rows, out)
    raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
