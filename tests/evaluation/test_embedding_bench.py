"""Suites run by an embedding model through the pipeline: retrieval recall@k on the shipped
kb-retrieval corpus, doc-classify by nearest centroid of the suite's labelled examples, and a
suite an embedding model cannot run reported as excluded. Real onnxruntime, real MiniLM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from souverain.config import parse_config
from souverain.evaluation.embedtasks import labelled_examples
from souverain.evaluation.runner import run_bench
from souverain.evaluation.suite import load_suite, score
from souverain.gateway.runtime import Runtime
from souverain.ledger import Ledger
from tests.support.configs import backend, openai_upstream
from tests.support.upstream import Upstream


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str]]:
    with Upstream() as up:
        remote = {"self_hosted": False, "operator": "Cloud Inc", "open_weights": False}
        caps = {"embeddings": True, "generation": False}
        config = parse_config(
            {
                "site": {"country": "FR"},
                "backends": [
                    backend("minilm", type="onnx", model="embedded"),
                    openai_upstream("cloud", up.base_url, capabilities=caps, **remote),
                ],
                "use_cases": [{"name": "docs", "backends": ["minilm", "cloud"]}],
                "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            }
        )
        rt = Runtime(config)
        await rt.start()
        try:
            yield rt, config.ledger.url
        finally:
            await rt.close()


def test_recall_suite_loads_and_scores_its_own_answers() -> None:
    suite = load_suite("kb-retrieval")
    assert suite.scorer == "recall_at_k" and len(suite.options["corpus"]) == 20
    for item in suite.items:
        assert score(suite, item, item.expected).score == 1.0
        assert score(suite, item, "kb-99, nothing").score == 0.0
    first = suite.items[0]
    wrong = [d for d in suite.options["corpus"] if d != first.expected]
    assert score(suite, first, ", ".join([*wrong[:3], first.expected])).score == 0.0  # 4th
    assert score(suite, first, ", ".join([*wrong[:2], first.expected])).score == 1.0


def test_doc_classify_prompt_carries_one_labelled_example_per_class() -> None:
    suite = load_suite("doc-classify")
    pairs = labelled_examples(suite)
    assert sorted(label for _, label in pairs) == sorted(suite.options["labels"])
    assert all(doc.startswith("Document:") for doc, _ in pairs)


async def test_embedding_backends_run_retrieval_and_classification(runtime: Any) -> None:
    rt, url = runtime
    retrieval = await run_bench(rt, load_suite("kb-retrieval"), rt.config.use_case("docs"))
    by_backend: dict[str, list[dict[str, Any]]] = {}
    for r in retrieval.records:
        by_backend.setdefault(r["backend"], []).append(r)
    local = by_backend["minilm"]
    assert len(local) == 24 and all("error" not in r for r in local)
    recall = sum(r["score"] for r in local) / len(local)
    assert recall >= 0.8, recall  # measured 1.00: MiniLM finds the passage in its top 3
    assert all(r["energy_wh"] > 0 and r["prompt_tokens"] > 0 for r in local)
    # the loopback upstream's vectors carry no meaning: it is run and scored like any backend
    assert len(by_backend["cloud"]) == 24
    assert sum(r["score"] for r in by_backend["cloud"]) / 24 < recall

    classify = await run_bench(
        rt, load_suite("doc-classify"), rt.config.use_case("docs"), ["minilm"]
    )
    assert len(classify.records) == 60
    predicted = {r["score_details"]["predicted"] for r in classify.records}
    assert predicted <= set(load_suite("doc-classify").options["labels"]) and len(predicted) > 1

    kyc = await run_bench(rt, load_suite("kyc-extract"), rt.config.use_case("docs"), ["minilm"])
    assert not kyc.records and "cannot run a 'json_fields' suite" in kyc.excluded["minilm"]

    with Ledger.open(url) as ledger:
        rows = list(ledger.rows())
    bench = [r for r in rows if r["kind"] == "bench" and r["backend"] == "minilm"]
    # 24 queries + the corpus, 60 documents + the examples
    assert len(bench) == 24 + 1 + 60 + 1
    assert all(r["operation"] == "embeddings" for r in bench)
