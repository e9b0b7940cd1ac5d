"""results.json, the table, the chart and a report.html that requests nothing from the network."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from souverain.evaluation.report import SCHEMA, load_results, print_table, write_results
from souverain.evaluation.suite import load_suite

EXCLUDED = {"openai-us": "jurisdiction US not in [EU] (https://api.example.com)"}


def records() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for backend, q, lat, wh, eur in (
        ("gemma-3-270m", 0.3, 0.5, 0.002, 0.00001),
        ("vllm</script><!--", 0.9, 1.2, 0.05, 0.0004),  # hostile name: escaped everywhere
        ("mistral-api", 0.92, 2.0, None, 0.0009),
    ):
        for i in range(12):
            out.append(
                {
                    "backend": backend, "item_id": f"kyc-{i:03d}", "score": q if i % 3 else 0.0,
                    "output": '{"name": "x"}', "latency_s": lat + i / 100, "ttft_s": 0.1,
                    "prompt_tokens": 700, "completion_tokens": 80, "energy_wh": wh,
                    "energy_method": "estimated:parameters" if wh else None,
                    "cost_eur": eur, "cost_method": "price:table", "error": None,
                }
            )  # fmt: skip
    return out


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    write_results(tmp_path, load_suite("kyc-extract"), "kyc", records(), EXCLUDED, "cfg123")
    return tmp_path


def test_results_json_schema(out_dir: Path) -> None:
    data = load_results(out_dir)
    assert data["schema"] == SCHEMA
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["created_at"])
    assert data["use_case"] == "kyc" and data["config_hash"] == "cfg123"
    assert data["suite"]["name"] == "kyc-extract" and len(data["suite"]["digest"]) == 64
    assert data["excluded"] == EXCLUDED
    assert len(data["records"]) == 36
    gemma = data["backends"]["gemma-3-270m"]
    for key in (
        "quality_mean",
        "quality_ci_low",
        "quality_ci_high",
        "latency_p50_s",
        "latency_p95_s",
    ):
        assert isinstance(gemma[key], float)
    for key in ("tokens_per_s", "j_per_token", "j_per_item", "eur_per_1000_items"):
        assert isinstance(gemma[key], float)
    assert gemma["energy_methods"] == ["estimated:parameters"] and gemma["cost_methods"] == [
        "price:table"
    ]
    assert data["backends"]["mistral-api"]["j_per_item"] is None
    assert set(data["pareto"]) == {"speed", "energy", "cost"}
    assert "mistral-api" not in data["pareto"]["energy"]
    assert data["metrics"]["cost"] == {"field": "eur_per_1000_items", "unit": "EUR per 1,000 items"}


def test_chart_and_table(out_dir: Path) -> None:
    assert (out_dir / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = Console(record=True, width=140)
    print_table(out_dir / "results.json", console=console)
    text = console.export_text()
    assert "gemma-3-270m" in text and "excluded openai-us: jurisdiction US" in text
    assert "estimated by estimated:parameters, price:table" in text
    narrow = Console(record=True, width=80)  # stacked per backend: no header or name cut
    print_table(out_dir / "results.json", console=narrow)
    lines = narrow.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in "\n".join(lines)
    assert any("gemma-3-270m" in line for line in lines)
    assert any("quality (95 % CI)" in line for line in lines)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if (
                name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href")
                and value
            ):
                self.refs.append(value)


def test_html_is_self_contained(out_dir: Path) -> None:
    page = (out_dir / "report.html").read_text()
    parser = _Refs()
    parser.feed(page)
    assert parser.refs == []
    assert not {"link", "img", "iframe", "object", "embed"} & set(parser.tags)
    assert "@import" not in page
    assert not re.search(r"url\(", page)
    # the only absolute URL in the page is inside an escaped data string, never an attribute
    assert re.findall(r"https?://[^\s\"'<)]+", page) == ["https://api.example.com"] * 2
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing anyway
    assert page.count("</script>") == 2  # the hostile backend name did not close a script
    assert "vllm&lt;/script&gt;&lt;!--" in page
    embedded = re.search(r'<script type="application/json" id="results">(.*?)</script>', page, re.S)
    assert embedded
    data = json.loads(embedded.group(1))
    assert set(data["backends"]) == {"gemma-3-270m", "vllm</script><!--", "mistral-api"}


DOM_STUB = r"""
const fs = require('fs');
const page = fs.readFileSync(process.argv[2], 'utf8');
const data = page.match(/<script type="application\/json" id="results">([\s\S]*?)<\/script>/)[1];
const code = page.match(/<script>([\s\S]*?)<\/script>/)[1];
function node(tag) {
  return { tag, attrs: {}, children: [], textContent: '', dataset: {}, listeners: {},
    classList: { set: new Set(), toggle(c, on) { on ? this.set.add(c) : this.set.delete(c); } },
    setAttribute(k, v) { this.attrs[k] = String(v); }, getAttribute(k) { return this.attrs[k]; },
    appendChild(c) { const i = this.children.indexOf(c); if (i >= 0) this.children.splice(i, 1);
      this.children.push(c); return c; },
    removeChild(c) { this.children.splice(this.children.indexOf(c), 1); },
    get firstChild() { return this.children[0] || null; },
    addEventListener(e, f) { this.listeners[e] = f; },
    querySelectorAll(sel) {
      if (sel === 'tr[data-backend]') return this.children.filter(r => r.dataset.backend);
      if (sel === 'tr.excluded') return this.children.filter(r => r.excluded);
      return [];
    } };
}
const svg = node('svg'); svg.namespaceURI = 'svg-ns';
const tbody = node('tbody');
const R = JSON.parse(data);
for (const name of Object.keys(R.backends)) { const r = node('tr'); r.dataset.backend = name; tbody.appendChild(r); }
const buttons = Object.keys(R.metrics).map(m => { const b = node('button'); b.dataset.metric = m; return b; });
global.document = {
  getElementById: id => id === 'results' ? { textContent: data } : id === 'chart' ? svg : tbody,
  createElementNS: (ns, tag) => node(tag),
  querySelectorAll: sel => sel === '.toggle button' ? buttons : [],
};
eval(code);
const out = {};
for (const b of buttons) {
  b.listeners.click();
  out[b.dataset.metric] = {
    circles: svg.children.filter(c => c.tag === 'circle').length,
    front: svg.children.filter(c => c.tag === 'path').length,
    pressed: buttons.filter(x => x.attrs['aria-pressed'] === 'true').map(x => x.dataset.metric),
    rows: tbody.children.map(r => r.dataset.backend),
  };
}
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_html_metric_toggle_redraws(out_dir: Path, tmp_path: Path) -> None:
    stub = tmp_path / "stub.js"
    stub.write_text(DOM_STUB)
    run = subprocess.run(
        ["node", str(stub), str(out_dir / "report.html")],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    drawn = json.loads(run.stdout)
    assert drawn["speed"]["circles"] == 3 and drawn["cost"]["circles"] == 3
    assert drawn["energy"]["circles"] == 2  # mistral-api has no energy figure
    for metric, state in drawn.items():
        assert state["pressed"] == [metric]
    assert drawn["speed"]["rows"][0] == "gemma-3-270m"  # table re-sorted by the metric
    assert drawn["cost"]["rows"] == ["gemma-3-270m", "vllm</script><!--", "mistral-api"]
