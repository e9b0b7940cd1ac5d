"""souverain bench / advise / objective routing through the real gateway pipeline: the embedded
model and a real llama_cpp.server on loopback, policy exclusions during the bench, and routing
that follows the latest results."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from souverain.api.app import create_app
from souverain.cli.main import app as cli
from souverain.config import parse_config
from souverain.evaluation.report import write_results
from souverain.evaluation.suite import load_suite
from souverain.ledger import Ledger
from tests.e2e.test_openai_backend import llama_server  # noqa: F401  (module fixture)
from tests.support.configs import backend
from tests.support.upstream import Upstream

pytestmark = pytest.mark.slow
runner = CliRunner()


def write_config(tmp: Path, data: dict) -> Path:
    data.setdefault("ledger", {"url": f"sqlite:///{tmp / 'ledger.db'}"})
    data.setdefault("bench", {"results_dir": str(tmp / "bench")})
    path = tmp / "souverain.yaml"
    path.write_text("# bench test config\n" + yaml.safe_dump(data, sort_keys=False))
    return path


def test_bench_embedded_and_llama_server(tmp_path: Path, llama_server: str) -> None:  # noqa: F811
    cfg = write_config(
        tmp_path,
        {
            "backends": [
                backend("embedded", type="llamacpp", model="embedded", eur_per_hour=0.05),
                backend(
                    "llama-server",
                    type="openai",
                    base_url=llama_server,
                    model="gemma-remote",
                    capabilities={"tools": False},
                    parameters={"total_b": 0.27},
                ),
            ],
            "use_cases": [{"name": "docs", "backends": ["embedded", "llama-server"]}],
        },
    )
    out = tmp_path / "run"
    result = runner.invoke(
        cli,
        [
            "bench",
            "--suite",
            "doc-classify",
            "--use-case",
            "docs",
            "--limit",
            "3",
            "--out",
            str(out),
            "--config",
            str(cfg),
        ],
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["backends"]) == {"embedded", "llama-server"}
    for stats in results["backends"].values():
        assert stats["items"] == 3 and stats["quality_mean"] is not None
        assert stats["latency_p50_s"] > 0
    methods = {r["backend"]: r["energy_method"] for r in results["records"]}
    assert methods["embedded"] == "estimated:cpu-time" or methods["embedded"].startswith(
        "measured:"
    )
    assert methods["llama-server"] == "estimated:parameters"
    assert (out / "results.png").stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        kinds = [r["kind"] for r in ledger.rows()]
    assert kinds == ["bench"] * 6
    report = runner.invoke(cli, ["report", "--config", str(cfg), "--format", "json"])
    assert report.exit_code == 0 and json.loads(report.output) == []  # bench rows left out
    with_bench = runner.invoke(
        cli, ["report", "--config", str(cfg), "--format", "json", "--include-bench"]
    )
    assert (
        with_bench.exit_code == 0 and sum(g["requests"] for g in json.loads(with_bench.output)) == 6
    )


def test_bench_respects_policy_and_data_actions(tmp_path: Path) -> None:
    with Upstream() as remote:
        cfg = write_config(
            tmp_path,
            {
                "backends": [
                    backend("embedded", type="llamacpp", model="embedded"),
                    backend(
                        "us-cloud",
                        type="openai",
                        base_url=remote.base_url,
                        model="m",
                        self_hosted=False,
                        operator="Example Inc.",
                        operator_jurisdiction="US",
                        location="IE",
                        open_weights=False,
                    ),
                    backend(
                        "eu-cloud",
                        type="openai",
                        base_url=remote.base_url,
                        model="m",
                        self_hosted=False,
                        operator="EU Cloud",
                        open_weights=False,
                    ),
                ],
                "use_cases": [
                    {
                        "name": "kyc",
                        "backends": ["embedded", "us-cloud", "eu-cloud"],
                        "policy": {"allowed_jurisdictions": ["EU"], "personal_data": "keep-local"},
                    }
                ],
            },
        )
        out = tmp_path / "run"
        result = runner.invoke(
            cli,
            [
                "bench",
                "--suite",
                "kyc-extract",
                "--use-case",
                "kyc",
                "--limit",
                "1",
                "--out",
                str(out),
                "--config",
                str(cfg),
            ],
        )
        assert result.exit_code == 0, result.output
        assert remote.captured == []  # neither the US operator nor a keep-local item ever left
    results = json.loads((out / "results.json").read_text())
    assert "US law" in results["excluded"]["us-cloud"]
    assert "keep-local" in results["excluded"]["eu-cloud"]
    assert set(results["backends"]) == {"embedded"}


def records(backend_name: str, quality: float, cost: float, n: int = 20) -> list[dict]:
    return [
        {
            "backend": backend_name,
            "item_id": f"i{i}",
            "score": quality,
            "latency_s": 0.1,
            "ttft_s": 0.05,
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "energy_wh": 0.001,
            "energy_method": "estimated:cpu-time",
            "cost_eur": cost,
            "cost_method": "test",
        }
        for i in range(n)
    ]


async def test_objective_routing_follows_latest_results(tmp_path: Path) -> None:
    with Upstream(reply="from A") as a, Upstream(reply="from B") as b:
        data = {
            "backends": [
                backend("A", type="openai", base_url=a.base_url, model="m"),
                backend("B", type="openai", base_url=b.base_url, model="m"),
            ],
            "use_cases": [
                {
                    "name": "cheap",
                    "backends": ["A", "B"],
                    "objective": "cost",
                    "quality_floor": 0.5,
                },
                {
                    "name": "strict",
                    "backends": ["A", "B"],
                    "objective": "cost",
                    "quality_floor": 0.95,
                    "on_below_floor": "refuse",
                },
                {"name": "plain", "backends": ["A", "B"]},
                {  # the same figures on 19 items: too few (bench.min_items 20) to act on
                    "name": "thin",
                    "backends": ["A", "B"],
                    "objective": "cost",
                    "quality_floor": 0.5,
                },
            ],
        }
        write_config(tmp_path, data)
        suite = load_suite("doc-classify")
        for uc in ("cheap", "strict", "plain"):
            write_results(
                tmp_path / "bench" / uc,
                suite,
                uc,
                records("A", 0.9, 0.01) + records("B", 0.8, 0.001),
                {},
                None,
            )
        write_results(
            tmp_path / "bench" / "thin",
            suite,
            "thin",
            records("A", 0.9, 0.01, n=19) + records("B", 0.8, 0.001, n=19),
            {},
            None,
        )
        app = create_app(parse_config(data))
        runtime = app.state.runtime
        await runtime.start()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as c:
            body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
            cheap = await c.post("/v1/chat/completions", json={**body, "model": "cheap"})
            strict = await c.post("/v1/chat/completions", json={**body, "model": "strict"})
            plain = await c.post("/v1/chat/completions", json={**body, "model": "plain"})
            thin = await c.post("/v1/chat/completions", json={**body, "model": "thin"})
        await runtime.close()
    assert cheap.headers["x-souverain-backend"] == "B"  # cheapest above the floor
    assert plain.headers["x-souverain-backend"] == "A"  # no objective: configured order
    assert thin.headers["x-souverain-backend"] == "A"  # insufficient evidence: configured order
    assert strict.status_code == 503 and "quality floor" in strict.json()["error"]["message"]


def test_advise_explains_and_writes_order_keeping_comments(tmp_path: Path) -> None:
    data = {
        "backends": [
            backend("A", type="openai", base_url="http://127.0.0.1:9/v1", model="m"),
            backend("B", type="openai", base_url="http://127.0.0.1:9/v1", model="m"),
            backend(
                "C",
                type="openai",
                base_url="http://127.0.0.1:9/v1",
                model="m",
                operator_jurisdiction="US",
            ),
        ],
        "use_cases": [
            {
                "name": "docs",
                "backends": ["A", "B", "C"],
                "quality_floor": 0.5,
                "policy": {"allowed_jurisdictions": ["EU"]},
            }
        ],
    }
    cfg = write_config(tmp_path, data)
    write_results(
        tmp_path / "bench" / "r1",
        load_suite("doc-classify"),
        "docs",
        records("A", 0.9, 0.01) + records("B", 0.8, 0.001),
        {},
        None,
    )
    result = runner.invoke(
        cli,
        [
            "advise",
            "--objective",
            "cost",
            "--config",
            str(cfg),
            "--write",
            str(tmp_path / "new.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recommended order: B, A" in result.output and "US law" in result.output
    written = (tmp_path / "new.yaml").read_text()
    assert written.startswith("# bench test config")
    assert yaml.safe_load(written)["use_cases"][0]["backends"] == ["B", "A", "C"] or yaml.safe_load(
        written
    )["use_cases"][0]["backends"][:2] == ["B", "A"]


def test_advise_says_where_it_looked_and_reads_results_elsewhere(tmp_path: Path) -> None:
    data = {
        "backends": [
            backend("A", type="openai", base_url="http://127.0.0.1:9/v1", model="m"),
            backend("B", type="openai", base_url="http://127.0.0.1:9/v1", model="m"),
        ],
        "use_cases": [{"name": "docs", "backends": ["A", "B"], "quality_floor": 0.5}],
    }
    cfg = write_config(tmp_path, data)
    elsewhere = tmp_path / "elsewhere"
    write_results(
        elsewhere / "run1",
        load_suite("doc-classify"),
        "docs",
        records("A", 0.9, 0.01) + records("B", 0.8, 0.001, n=7),
        {},
        None,
    )
    base = ["advise", "--objective", "cost", "--config", str(cfg)]
    blind = runner.invoke(cli, base)
    assert blind.exit_code == 0, blind.output
    assert "0 results.json under" in blind.output and str(tmp_path / "bench") in blind.output
    assert "no bench results" in blind.output
    seen = runner.invoke(cli, [*base, "--results", str(elsewhere)])
    assert seen.exit_code == 0, seen.output
    assert f"1 results.json under {elsewhere}" in seen.output
    assert "insufficient-evidence" in seen.output and "n=7" in seen.output
    assert "recommended order: A, B" in seen.output  # B is cheaper, but on 7 items only
