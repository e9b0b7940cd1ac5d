"""Strict JSON for request bodies: what a client sends is checked before it is validated, so that
no value can fail later, in a backend or an encoder, as a 500 or a 502.

Refused with a 400 naming the place (``param``, as ``messages[0].content``):

* a body that is not UTF-8 (RFC 8259: JSON on the wire is UTF-8), or not JSON;
* ``NaN``, ``Infinity``, ``-Infinity`` and numbers too large for a double (``1e999``);
* integers outside 64 bits (every encoder on the way to a backend writes 64-bit integers);
* lone surrogates (``"\\ud800"``): they are not Unicode text and cannot be encoded as UTF-8;
* a key repeated in one object (parsers disagree on which value wins);
* nesting deeper than :data:`MAX_DEPTH`.

A body without ``Content-Type: application/json`` is read as JSON when it is an object
(:func:`_json_despite_type`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

#: containers inside containers; a JSON Schema in ``tools`` needs far fewer
MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
#: a lone surrogate can only come from an escape (the text was decoded as strict UTF-8)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class InvalidBody(Exception):
    """The body cannot be accepted; ``param`` names where (None: the body as a whole)."""

    def __init__(self, message: str, param: str | None = None, code: str = "invalid_json"):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


class _Object(dict[str, Any]):
    """An object with a repeated key (found while parsing; reported with its path later)."""

    duplicate: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        flagged = _Object(out)
        for key, _ in pairs:
            if key in seen:
                flagged.duplicate = key
                break
            seen.add(key)
        return flagged
    return out


class _NotANumber:
    """``NaN`` / ``Infinity`` where a value was (reported with its path by the walk)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def parse_body(raw: bytes) -> Any:
    """The JSON value of ``raw``, or :class:`InvalidBody` saying what is wrong and where."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBody(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_NotANumber)
    except json.JSONDecodeError as exc:
        raise InvalidBody(
            f"the body is not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidBody(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    check_value(value, surrogates=_SURROGATE_ESCAPE.search(raw) is not None)
    return value


def _bad_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any, *, surrogates: bool = True) -> None:
    """Walk ``value`` (iteratively: depth is what is being checked) and raise
    :class:`InvalidBody` at the first value no backend could be sent. ``surrogates=False``
    skips the text check (the raw body had no surrogate escape)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        t = type(v)
        if t is str:
            if surrogates and _bad_text(v):
                raise InvalidBody(
                    f"{path or 'the body'}: contains a lone surrogate (\\ud800-\\udfff), "
                    "which is not Unicode text",
                    path or None,
                    "invalid_value",
                )
        elif t is int:
            if not INT_MIN <= v <= INT_MAX:
                raise InvalidBody(
                    f"{path or 'the body'}: integer out of range (64 bits at most)",
                    path or None,
                    "invalid_value",
                )
        elif t is float:
            if not math.isfinite(v):
                raise InvalidBody(
                    f"{path or 'the body'}: number out of range (too large for a double)",
                    path or None,
                    "invalid_value",
                )
        elif t is _NotANumber:
            raise InvalidBody(f"{path or 'the body'}: {v.name} is not a JSON number", path or None)
        elif t is list or t is dict or t is _Object:
            if depth >= MAX_DEPTH:
                raise InvalidBody(
                    f"{path or 'the body'}: nested deeper than {MAX_DEPTH} levels",
                    path or None,
                    "invalid_value",
                )
            if t is list:
                stack.extend((item, _join(path, i), depth + 1) for i, item in enumerate(v))
                continue
            if t is _Object:
                where = _join(path, v.duplicate)
                raise InvalidBody(f"{where}: the key {v.duplicate!r} appears twice", where)
            for key, item in v.items():
                if surrogates and _bad_text(key):
                    raise InvalidBody(
                        f"{path or 'the body'}: a key contains a lone surrogate, "
                        "which is not Unicode text",
                        path or None,
                        "invalid_value",
                    )
                stack.append((item, _join(path, key), depth + 1))


class StrictJSONRequest(Request):
    """A request whose ``json()`` is :func:`parse_body` (FastAPI parses bodies with it)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_body(await self.body())
        return self._json


def is_json_type(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


async def _json_despite_type(request: StrictJSONRequest) -> None:
    """A body sent without ``Content-Type: application/json`` (``curl -d`` says
    ``application/x-www-form-urlencoded``, ``requests.post(data=...)`` says nothing) is read as
    JSON when it is a JSON object, that is, when it starts with ``{``: it is then parsed as
    strictly as any (a malformed one gets the 400 saying where). Anything else is left as it
    came: FastAPI answers it with the 400 for a body that is not a JSON object."""
    headers = request.scope.get("headers") or []
    content_type = next((v for k, v in headers if k == b"content-type"), b"").decode("latin-1")
    if is_json_type(content_type):
        return
    raw = await request.body()
    if not raw.lstrip(b" \t\r\n").startswith(b"{"):
        return
    request.scope["headers"] = [
        *((k, v) for k, v in headers if k != b"content-type"),
        (b"content-type", b"application/json"),
    ]
    request.__dict__.pop("_headers", None)


class StrictJSONRoute(APIRoute):
    """Routes whose JSON bodies are parsed strictly. FastAPI turns an error while parsing into
    an HTTPException caused by it; the app's handler answers the :class:`InvalidBody`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            strict_request = StrictJSONRequest(request.scope, request.receive)
            if request.method in ("POST", "PUT", "PATCH"):
                await _json_despite_type(strict_request)
            return await handler(strict_request)

        return strict
