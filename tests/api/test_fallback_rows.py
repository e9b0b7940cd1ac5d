"""A request that falls back after an egress attempt failed (issue #12 item 7): the failed
attempt keeps its own row (data did leave for it), linked to the request by its id
(``<request id>.<n>``), and ``report`` counts one request and two attempts."""

from __future__ import annotations

import httpx

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.ledger import Ledger
from souverain.ledger.report import split_attempt, summarize
from tests.support.configs import openai_upstream
from tests.support.upstream import Upstream

REMOTE = {"self_hosted": False, "operator": "Example SAS"}


async def test_a_fallback_is_one_request_with_two_attempts(tmp_path) -> None:
    db = str(tmp_path / "l.db")
    with Upstream("status500") as broken, Upstream() as fine:
        cfg = parse_config(
            {
                "backends": [
                    openai_upstream("broken", broken.base_url, **REMOTE),
                    openai_upstream("fine", fine.base_url, **REMOTE),
                ],
                "use_cases": [
                    {
                        "name": "u",
                        "backends": ["broken", "fine"],
                        "policy": {"personal_data": "allow"},
                    }
                ],
                "ledger": {"url": db},
            }
        )
        app = create_app(cfg)
        await app.state.runtime.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30
            ) as c:
                r = await c.post(
                    "/v1/chat/completions",
                    json={"model": "u", "messages": [{"role": "user", "content": "hi"}]},
                )
        finally:
            await app.state.runtime.close()
        assert len(broken.captured) == 1 and len(fine.captured) == 1
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    with Ledger.open(db) as ledger:
        rows = list(ledger.rows())
        assert ledger.verify().ok
    assert [(row["request_id"], row["backend"], row["status"]) for row in rows] == [
        (rid, "broken", "failed"),
        (f"{rid}.2", "fine", "completed"),
    ]
    assert {split_attempt(row["request_id"])[0] for row in rows} == {rid}
    (total,) = summarize(rows)
    assert (total["requests"], total["attempts"], total["served"], total["failed"]) == (1, 2, 1, 0)
    by_backend = {g["group"]: g for g in summarize(rows, by="backend") if g["group"] != "total"}
    assert by_backend["broken"]["requests"] == 1 and by_backend["broken"]["failed"] == 1
    assert by_backend["fine"]["requests"] == 1 and by_backend["fine"]["served"] == 1


def test_split_attempt() -> None:
    assert split_attempt("chatcmpl-abc") == ("chatcmpl-abc", 1)
    assert split_attempt("chatcmpl-abc.3") == ("chatcmpl-abc", 3)
    assert split_attempt("odd.") == ("odd.", 1)
