"""One row per authenticated request, client errors included: a body that does not parse or
validate, an unsupported parameter, an unknown model, a use case the key may not use -- each a
refused row with the status, code and key the client saw (its X-Request-Id); a 401 never writes
one. Through the real ASGI app and a real SQLite ledger."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import orjson

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.ledger.readonly import open_readonly
from tests.support.configs import openai_upstream
from tests.support.fakes import FakeBackend, install

KEY_ALL, KEY_KYC = "sk-sov-rows-all", "sk-sov-rows-kyc"


def app_for(db: Path):
    cfg = parse_config(
        {
            "backends": [openai_upstream("first", "http://127.0.0.1:9/v1")],
            "use_cases": [
                {"name": "default", "backends": ["first"]},
                {"name": "kyc", "backends": ["first"]},
            ],
            "api_keys": [
                {"name": "all", "sha256": hashlib.sha256(KEY_ALL.encode()).hexdigest()},
                {
                    "name": "kyc-team",
                    "sha256": hashlib.sha256(KEY_KYC.encode()).hexdigest(),
                    "use_cases": ["kyc"],
                },
            ],
            "ledger": {"url": str(db)},
        }
    )
    app = create_app(cfg)
    install(app, FakeBackend("first", text="ok"))
    return app


MSGS = '"messages":[{"role":"user","content":"hi"}]'
CASES = [
    # (key, path, body, status, code, requested model)
    (KEY_ALL, "/v1/chat/completions", b'{"model":"default",', 400, "invalid_json", None),
    (
        KEY_ALL,
        "/v1/chat/completions",
        b'{"model":"default","messages":[{"role":"user","content":"\\ud800"}]}',
        400,
        "invalid_value",
        None,
    ),
    (
        KEY_ALL,
        "/v1/chat/completions",
        b'{"model":"default","messages":[{"role":"wizard","content":"hi"}]}',
        400,
        "invalid_value",
        "default",
    ),
    (
        KEY_ALL,
        "/v1/chat/completions",
        b'{"model":"default","n":2,' + MSGS.encode() + b"}",
        400,
        "unsupported_parameter",
        "default",
    ),
    (KEY_ALL, "/v1/completions", b'{"model":"nope","prompt":"x"}', 404, "model_not_found", "nope"),
    (
        KEY_KYC,
        "/v1/chat/completions",
        b'{"model":"default",' + MSGS.encode() + b"}",
        403,
        "use_case_not_allowed",
        "default",
    ),
]


async def test_every_authenticated_client_error_has_one_refused_row(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    app = app_for(db)
    await app.state.runtime.start()
    seen: dict[str, tuple] = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            for key, path, body, status, code, model in CASES:
                r = await c.post(
                    path,
                    content=body,
                    headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
                )
                assert r.status_code == status, r.text
                assert r.json()["error"]["code"] == code
                seen[r.headers["X-Request-Id"]] = (status, code, model, key)
            # unauthenticated: 401, no row
            r = await c.post(
                "/v1/chat/completions", content=b"{", headers={"Authorization": "Bearer bad"}
            )
            assert r.status_code == 401
            ok = await c.post(
                "/v1/chat/completions",
                content=b'{"model":"kyc",' + MSGS.encode() + b"}",
                headers={"Authorization": f"Bearer {KEY_KYC}", "content-type": "application/json"},
            )
            assert ok.status_code == 200
    finally:
        await app.state.runtime.close()
    with open_readonly(f"sqlite:///{db}") as reader:
        rows = list(reader.rows())
        assert reader.verify().ok
    assert len(rows) == len(CASES) + 1  # the six refusals and the one answer, no 401
    by_id = {r["request_id"]: r for r in rows}
    for request_id, (status, code, model, key) in seen.items():
        row = by_id[request_id]
        assert (row["status"], row["decision"]) == ("refused", "refused")
        assert (row["http_status"], row["error_code"]) == (status, code)
        assert row["requested_model"] == model
        assert row["api_key_name"] == ("all" if key == KEY_ALL else "kyc-team")
        assert row["backend"] is None and not row["cost_eur"]
    assert by_id[ok.headers["X-Request-Id"]]["status"] == "completed"


async def test_413_from_content_length_alone_has_its_row_and_reads_no_body(tmp_path: Path) -> None:
    """A Content-Length over server.max_body_bytes is refused before one byte is read, and the
    authenticated caller's 413 still has its refused row; an unauthenticated one gets 401, no row."""
    db = tmp_path / "ledger.db"
    app = app_for(db)
    await app.state.runtime.start()
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def call(key: str) -> tuple[int, dict[bytes, bytes], bytes]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gw"),
                (b"authorization", f"Bearer {key}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(50 * 1024 * 1024).encode()),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("gw", 80),
        }
        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], dict(start["headers"]), body

    try:
        status, headers, body = await call(KEY_ALL)
        assert status == 413, body
        assert orjson.loads(body)["error"]["code"] == "request_too_large"
        request_id = headers[b"x-request-id"].decode()
        assert (await call("sk-wrong"))[0] == 401
    finally:
        await app.state.runtime.close()
    assert reads == 0  # the body was never read
    with open_readonly(f"sqlite:///{db}") as reader:
        rows = list(reader.rows())
        assert reader.verify().ok
    assert [r["request_id"] for r in rows] == [request_id]
    row = rows[0]
    assert (row["status"], row["http_status"], row["error_code"]) == (
        "refused",
        413,
        "request_too_large",
    )
    assert row["api_key_name"] == "all" and row["requested_model"] is None
