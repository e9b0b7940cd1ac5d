"""What the pages show, in process: the report's own figures under the data-metric hooks, the
ledger's rows, filters, export and chain status, the placement's reasons, bench results and the
advisor's order, and the drills' verdicts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from souverain.drill.removal import Removal
from souverain.drill.report import write_json
from souverain.drill.run import run_drill
from souverain.evaluation.report import write_results
from souverain.evaluation.suite import load_suite
from souverain.ledger.report import summarize
from souverain.paths import data_dir
from tests.console.helpers import HOOKS, csrf_of, login, metrics, rows


def ledger_of(app: Any) -> Any:
    return app.state.runtime.ledger


def as_hook(value: Any) -> str:
    return "" if value is None else json.dumps(value)


async def test_headline_figures_are_the_reports(gateway: Any, client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for r in rows(now):
        ledger_of(gateway).write(r)
    await login(client)
    # the default period, the last 24 hours: six request rows (the bench row and the 30-hour
    # old one left out); first by hand, then against the report
    page = await client.get("/ui/")
    hooks = metrics(page.text)
    assert set(hooks) == set(HOOKS)
    assert hooks["requests"] == "6"  # served, pseudonymised, refused, failed: every one counts
    # sent to a backend: rows 1, 2, 3 (pseudonymised), 5 (failed after being sent), 6
    assert float(hooks["share_on_prem"]) == round(4 / 5, 4)
    assert float(hooks["share_eu_jurisdiction"]) == round(4 / 5, 4)
    assert float(hooks["cost_eur"]) == pytest.approx(0.0012 + 0.0007 + 0.0031 + 0.0001 + 0.0009)
    assert float(hooks["energy_wh"]) == pytest.approx(0.4 + 0.3 + 0.9 + 0.05 + 0.35)
    day = list(ledger_of(gateway).rows(since=now - timedelta(hours=24), kind="request"))
    # (the page's own "24h" is a moment later than `now`: no row sits at the boundary)
    report = summarize(day)[0]
    assert hooks == {m: as_hook(report[f]) for m, f in HOOKS.items()}
    # a chosen period, as souverain report --since/--until reads it
    since, until = (now - timedelta(hours=13)).isoformat(), (now - timedelta(hours=2)).isoformat()
    page = await client.get("/ui/", params={"since": since, "until": until})
    chosen = summarize(
        ledger_of(gateway).rows(
            since=now - timedelta(hours=13), until=now - timedelta(hours=2), kind="request"
        )
    )[0]
    assert metrics(page.text) == {m: as_hook(chosen[f]) for m, f in HOOKS.items()}
    assert metrics(page.text)["requests"] == "3"  # 12, 6 and 3 hours ago
    # all time: the 30-hour old row counts too; the bench row never does
    hooks = metrics((await client.get("/ui/", params={"since": ""})).text)
    assert hooks["requests"] == "7"


async def test_empty_ledger_and_bad_period(client: httpx.AsyncClient) -> None:
    await login(client)
    page = await client.get("/ui/", params={"since": "yesterday-ish"})
    assert page.status_code == 200
    assert "is not a time" in page.text
    hooks = metrics(page.text)
    assert hooks["requests"] == "0" and hooks["share_on_prem"] == "" and hooks["cost_eur"] == "0.0"
    assert "no data in this period" in page.text


async def test_ledger_rows_filters_search_and_export(
    gateway: Any, client: httpx.AsyncClient
) -> None:
    for r in rows():
        ledger_of(gateway).write(r)
    await login(client)
    page = (await client.get("/ui/ledger")).text
    ids = re.findall(r'data-request-id="([^"]+)"', page)
    assert len(ids) == 8 and ids[0] == "req-console-006"  # newest first, every kind
    refused = (await client.get("/ui/ledger", params={"status": "refused"})).text
    assert re.findall(r'data-request-id="([^"]+)"', refused) == ["req-console-004"]
    found = (await client.get("/ui/ledger", params={"request_id": "req-console-00"})).text
    assert len(re.findall(r"data-request-id=", found)) == 8
    one = (await client.get("/ui/ledger", params={"request_id": "req-console-003"})).text
    assert re.findall(r'data-request-id="([^"]+)"', one) == ["req-console-003"]
    mixed = await client.get(
        "/ui/ledger", params={"use_case": "docs", "decision": "served", "kind": "request"}
    )
    assert set(re.findall(r'data-request-id="([^"]+)"', mixed.text)) == {
        "req-console-001",
        "req-console-002",
        "req-console-005",
        "req-console-006",
        "req-console-008",
    }
    bad = await client.get("/ui/ledger", params={"decision": "'; drop table ledger"})
    assert bad.status_code == 200 and "unknown value" in bad.text
    export = await client.get("/ui/ledger/export", params={"format": "jsonl", "use_case": "docs"})
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    lines = [json.loads(x) for x in export.text.splitlines()]
    assert {x["use_case"] for x in lines} == {"docs"} and len(lines) == 7
    assert [x["seq"] for x in lines] == sorted(x["seq"] for x in lines)  # chain order
    otel = await client.get("/ui/ledger/export", params={"format": "otel", "status": "failed"})
    spans = json.loads(otel.text.splitlines()[0])["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == 1 and spans[0]["status"]["code"] == 2
    assert (await client.get("/ui/ledger/export", params={"format": "csv"})).status_code == 400


async def test_chain_status_turns_broken_after_tampering(
    gateway: Any, client: httpx.AsyncClient
) -> None:
    ledger = ledger_of(gateway)
    for r in rows():
        ledger.write(r)
    await login(client)
    page = (await client.get("/ui/ledger")).text
    assert 'data-chain="ok"' in page and "8 sealed rows" in page
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET cost_eur = 0 WHERE seq = 3"))
    page = (await client.get("/ui/ledger")).text
    assert 'data-chain="ok"' in page  # the last check, until someone asks again
    resp = await client.post("/ui/ledger/verify", data={"csrf": csrf_of(page)})
    assert resp.status_code == 303
    page = (await client.get(resp.headers["location"])).text
    assert 'data-chain="broken"' in page
    assert "edited: seq 3" in page


async def test_use_cases_show_the_policy_health_and_exclusions(client: httpx.AsyncClient) -> None:
    await login(client)
    page = (await client.get("/ui/use-cases")).text
    docs = page[page.index('id="uc-docs"') : page.index('id="uc-research"')]
    assert "Operators must be under the law of: EU" in docs
    assert "operator &#39;Example Inc.&#39; is under US law, not in allowed_jurisdictions" in docs
    assert "✗ down" in docs and "unreachable" in docs  # nothing listens on the backends' port
    research = page[page.index('id="uc-research"') :]
    assert "placeholders" in research  # personal_data: pseudonymize, in words
    assert "excluded for requests containing confidential text" in research  # keep-local
    assert "No candidate can serve now" in research


async def test_bench_page_flips_the_metric(gateway: Any, client: httpx.AsyncClient) -> None:
    results = Path(gateway.state.runtime.config.bench.results_dir) / "run1"
    records = [
        {
            "backend": backend,
            "item_id": f"doc-{i}",
            "score": score if i % 4 else 0.0,
            "latency_s": latency,
            "ttft_s": 0.1,
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "energy_wh": wh,
            "energy_method": "estimated:cpu-time",
            "cost_eur": eur,
            "cost_method": "declared",
            "error": None,
        }
        for i in range(20)  # bench.min_items: fewer and the figures never order anything
        for backend, score, latency, wh, eur in (
            ("local", 0.6, 2.0, 0.01, 0.00001),
            ("us-api", 0.9, 0.4, 0.05, 0.001),
        )
    ]
    write_results(results, load_suite("doc-classify"), "research", records, {}, "cfg")
    await login(client)
    cost = (await client.get("/ui/bench", params={"metric": "cost"})).text
    section = cost[cost.index('id="bench-research"') :]
    assert "Recommended order: <strong>local, us-api</strong>" in section
    assert section.count('<circle class="point') == 2 and 'class="front"' in section
    speed = (await client.get("/ui/bench", params={"metric": "speed"})).text
    assert "Recommended order: <strong>us-api, local</strong>" in speed
    assert "Pareto front for speed: us-api" in speed
    docs = cost[cost.index('id="bench-docs"') : cost.index('id="bench-research"')]
    assert "No bench results for this use case" in docs


async def test_drills_page_shows_verdicts_and_what_breaks(
    gateway: Any, client: httpx.AsyncClient
) -> None:
    runtime = gateway.state.runtime
    report = await run_drill(
        runtime, Removal(backends=("local",)), runtime.config.use_cases, plan_only=True
    )
    write_json(report, data_dir() / "drills" / "20260101T000000Z")
    await login(client)
    page = (await client.get("/ui/drills")).text
    docs = re.search(r'<tr data-use-case="docs" data-verdict="([^"]*)">(.*?)</tr>', page, re.S)
    assert docs and docs.group(1) == "no-exit"
    assert "✗ no-exit" in docs.group(2) and "backend &#39;local&#39;" in docs.group(2)
    assert "no compliant backend" in docs.group(2).lower()
    research = re.search(r'<tr data-use-case="research" data-verdict="([^"]*)">', page)
    assert research and research.group(1) == report.verdicts()["research"]
    assert report.drill_id in page


async def test_ledger_page_shows_the_last_checkpoint_and_a_truncation(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from souverain.api.app import create_app
    from souverain.config import parse_config
    from souverain.ledger import checkpoint as cp
    from tests.console.helpers import config_dict

    monkeypatch.setenv(cp.KEY_ENV, "console-test-signing-key-0123456789")
    sink = tmp_path / "anchors"
    cfg = config_dict(
        tmp_path,
        ledger={"url": f"sqlite:///{tmp_path / 'ledger.db'}", "checkpoints": {"dir": str(sink)}},
    )
    app = create_app(parse_config(cfg))
    await app.state.runtime.start(wait=False)
    try:
        ledger = ledger_of(app)
        for r in rows():
            ledger.write(r)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as client:
            await login(client)
            page = (await client.get("/ui/ledger")).text
            assert 'data-checkpoint="none"' in page and "none yet in" in page
            cp.write_to_dir(cp.make(ledger, cp.load_key()), sink)
            resp = await client.post("/ui/ledger/verify", data={"csrf": csrf_of(page)})
            page = (await client.get(resp.headers["location"])).text
            assert 'data-checkpoint="ok" data-checkpoint-seq="8"' in page
            assert 'data-chain="ok"' in page and "signature valid" in page
            # cut the tail back to seq 5 and move the head: the rows left still chain up...
            with ledger.engine.begin() as conn:
                h5 = conn.execute(text("SELECT row_hash FROM ledger WHERE seq = 5")).scalar()
                conn.execute(text("DELETE FROM ledger WHERE seq > 5"))
                conn.execute(text("UPDATE ledger_chain SET seq = 5, head_hash = :h"), {"h": h5})
            assert ledger.verify().ok
            resp = await client.post("/ui/ledger/verify", data={"csrf": csrf_of(page)})
            page = (await client.get(resp.headers["location"])).text
            # ...but not against the checkpoint
            assert 'data-chain="broken"' in page and 'data-checkpoint="broken"' in page
            assert "truncated: the checkpoint names seq 8, the ledger ends at seq 5" in page
    finally:
        await app.state.runtime.close()


async def test_ledger_page_says_when_no_checkpoint_directory_is_set(
    gateway: Any, client: httpx.AsyncClient
) -> None:
    await login(client)
    page = (await client.get("/ui/ledger")).text
    assert 'data-checkpoint="none"' in page
    assert "no checkpoint directory is configured" in page and "ledger.checkpoints.dir" in page
