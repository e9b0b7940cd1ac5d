"""Advisor decisions on constructed results, and the config copy with the new order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from souverain.evaluation.advise import advise, latest_stats, write_backends_order
from souverain.evaluation.stats import BackendStats

ROOT = Path(__file__).resolve().parents[2]


def st(
    name: str,
    quality: float | None,
    eur: float | None = None,
    j: float | None = None,
    p50: float | None = None,
) -> BackendStats:
    return BackendStats(
        backend=name, items=20, errors=0, quality_mean=quality,
        quality_ci_low=None if quality is None else quality - 0.05,
        quality_ci_high=None if quality is None else quality + 0.05,
        eur_per_1000_items=eur, j_per_item=j, latency_p50_s=p50,
    )  # fmt: skip


STATS = {
    "gemma": st("gemma", 0.62, eur=0.01, j=5, p50=0.4),
    "vllm": st("vllm", 0.91, eur=0.40, j=180, p50=1.2),
    "mistral": st("mistral", 0.93, eur=0.90, j=100, p50=2.0),
}


def test_objectives_order_the_candidates_that_meet_the_floor() -> None:
    cands = ["mistral", "vllm", "gemma"]
    assert advise("kyc", cands, {}, STATS, "cost", 0.8).order == ["vllm", "mistral", "gemma"]
    assert advise("kyc", cands, {}, STATS, "energy", 0.8).order == ["mistral", "vllm", "gemma"]
    assert advise("kyc", cands, {}, STATS, "speed", 0.8).order == ["vllm", "mistral", "gemma"]
    assert advise("kyc", cands, {}, STATS, "quality", 0.8).order == ["mistral", "vllm", "gemma"]
    assert advise("kyc", cands, {}, STATS, "cost", None).order == ["gemma", "vllm", "mistral"]
    advice = advise("kyc", cands, {}, STATS, "cost", 0.8)
    status = {d.backend: (d.status, d.rank) for d in advice.decisions}
    assert status == {
        "vllm": ("meets-floor", 1),
        "mistral": ("meets-floor", 2),
        "gemma": ("below-floor", 3),
    }
    gemma = next(d for d in advice.decisions if d.backend == "gemma")
    assert "0.62 < floor 0.8" in gemma.reason and gemma.quality_ci == (0.57, 0.67)
    assert advice.note.startswith("vllm first: best cost")
    json.dumps(advice.to_dict())


def test_ties_go_to_quality_then_configured_order() -> None:
    stats = {
        "a": st("a", 0.85, eur=0.5),
        "b": st("b", 0.90, eur=0.5),  # same cost as a, better quality
        "c": st("c", 0.90, eur=0.5),  # same as b: configured order decides
        "d": st("d", 0.85, eur=None),  # cost not measured: after the measured ones
    }
    assert advise("u", ["a", "c", "b", "d"], {}, stats, "cost", 0.8).order == ["c", "b", "a", "d"]
    assert advise("u", ["a", "b", "c", "d"], {}, stats, "cost", 0.8).order == ["b", "c", "a", "d"]
    assert advise("u", ["d", "c", "b", "a"], {}, stats, "quality", 0.8).order == [
        "c",
        "b",
        "d",
        "a",
    ]
    below = {"x": st("x", 0.5), "y": st("y", 0.6), "z": st("z", 0.5)}
    assert advise("u", ["z", "x", "y"], {}, below, "cost", 0.8).order == ["y", "z", "x"]


def test_below_floor_never_dropped_and_missing_results_keep_configured_order() -> None:
    stats = {"gemma": STATS["gemma"], "ghost": STATS["vllm"]}  # ghost is not a candidate
    advice = advise(
        "kyc", ["new-1", "gemma", "new-2"], {"us-api": "jurisdiction US"}, stats, "cost", 0.8
    )
    assert advice.order == ["gemma", "new-1", "new-2"]
    assert [d.status for d in advice.decisions] == [
        "below-floor",
        "no-results",
        "no-results",
        "excluded",
    ]
    assert advice.decisions[-1].rank is None and advice.decisions[-1].reason == "jurisdiction US"
    assert "no candidate meets the quality floor 0.8" in advice.note


def test_no_results_and_no_compliant_candidate() -> None:
    advice = advise("kyc", ["b", "a"], {}, {}, "energy", 0.9)
    assert (
        advice.order == ["b", "a"]
        and advice.note == "no bench results: the configured order stands"
    )
    none = advise("kyc", [], {"mistral": "remote, personal_data keep-local"}, STATS, "cost", 0.8)
    assert none.order == []
    assert none.note.startswith("no compliant candidate")
    assert [(d.backend, d.status) for d in none.decisions] == [("mistral", "excluded")]
    with pytest.raises(ValueError, match="objective must be one of"):
        advise("kyc", ["a"], {}, {}, "carbon", None)


def test_accepts_results_dicts() -> None:
    as_dicts = {n: s.to_dict() for n, s in STATS.items()}
    assert advise("kyc", ["mistral", "vllm"], {}, as_dicts, "speed", 0.8).order == [
        "vllm",
        "mistral",
    ]


def _results(
    path: Path, use_case: str, at: str, backends: dict[str, float], suite: str = "kyc-extract"
) -> None:
    path.mkdir(parents=True)
    doc = {
        "schema": "souverain.bench.results/1",
        "created_at": at,
        "use_case": use_case,
        "suite": {"name": suite},
        "backends": {n: st(n, q).to_dict() for n, q in backends.items()},
    }
    (path / "results.json").write_text(json.dumps(doc))


def test_latest_stats_takes_the_newest_run_per_backend(tmp_path: Path) -> None:
    _results(tmp_path / "r1", "kyc", "2025-01-01T00:00:00Z", {"a": 0.1, "b": 0.2})
    _results(tmp_path / "r2", "kyc", "2025-02-01T00:00:00Z", {"a": 0.5})
    _results(tmp_path / "r3", "other", "2025-03-01T00:00:00Z", {"a": 0.9})
    _results(tmp_path / "r4", "kyc", "2025-04-01T00:00:00Z", {"b": 0.9}, suite="doc-classify")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.json").write_text("{not json")
    found = latest_stats(tmp_path, "kyc", suite="kyc-extract")
    assert {n: s["quality_mean"] for n, s in found.items()} == {"a": 0.5, "b": 0.2}
    assert found["a"]["results_at"] == "2025-02-01T00:00:00Z"
    assert latest_stats(tmp_path, "kyc")["b"]["quality_mean"] == 0.9


def test_write_backends_order_keeps_comments_and_layout(tmp_path: Path) -> None:
    source = tmp_path / "souverain.yaml"
    shutil.copy(ROOT / "examples" / "souverain.yaml", source)
    original = source.read_text()
    same = write_backends_order(
        source, "kyc", ["vllm-cluster", "gemma-3-270m"], tmp_path / "same.yaml"
    )
    assert same.read_text() == original  # the round trip alone changes nothing
    out = write_backends_order(
        source, "research", ["gemma-3-270m", "vllm-cluster", "mistral-api"], tmp_path / "new.yaml"
    )
    text = out.read_text()
    assert source.read_text() == original
    changed = [
        (a, b) for a, b in zip(original.splitlines(), text.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        (
            "    backends: [mistral-api, vllm-cluster, gemma-3-270m]",
            "    backends: [gemma-3-270m, vllm-cluster, mistral-api]",
        )
    ]
    assert "# The embedded open-weight model, running in this process." in text
    loaded = yaml.safe_load(text)
    research = next(u for u in loaded["use_cases"] if u["name"] == "research")
    assert research["backends"] == ["gemma-3-270m", "vllm-cluster", "mistral-api"]


def test_write_backends_order_block_list_and_errors(tmp_path: Path) -> None:
    source = tmp_path / "c.yaml"
    source.write_text(
        "use_cases:\n"
        "- name: kyc  # the bank's client files\n"
        "  backends:\n"
        "  - a   # first choice today\n"
        "  - b\n"
        "  objective: cost\n"
    )
    text = write_backends_order(source, "kyc", ["b", "a"], tmp_path / "o.yaml").read_text()
    assert "# the bank's client files" in text
    assert yaml.safe_load(text)["use_cases"][0]["backends"] == ["b", "a"]
    assert "  - b\n" in text and "objective: cost" in text
    with pytest.raises(ValueError, match="no use case named 'nope'"):
        write_backends_order(source, "nope", ["a"], tmp_path / "x.yaml")
    with pytest.raises(ValueError, match="empty"):
        write_backends_order(source, "kyc", [], tmp_path / "x.yaml")


def test_too_few_items_is_insufficient_evidence_and_never_orders() -> None:
    thin = {**STATS, "gemma": BackendStats.from_dict(STATS["gemma"].to_dict() | {"items": 5})}
    advice = advise("kyc", ["mistral", "vllm", "gemma"], {}, thin, "cost", 0.8)
    assert advice.order == ["vllm", "mistral", "gemma"]
    gemma = next(d for d in advice.decisions if d.backend == "gemma")
    assert gemma.status == "insufficient-evidence" and gemma.items == 5
    assert "5 items < 20" in gemma.reason and gemma.quality == 0.62  # shown, not used
    assert not advice.acts and "insufficient evidence for gemma" in advice.note
    # cheaper gemma would come first on cost with no floor, if its 5 items counted
    assert advise("kyc", ["mistral", "gemma"], {}, thin, "cost", None).order == ["mistral", "gemma"]
    assert advise("kyc", ["mistral", "gemma"], {}, thin, "cost", None, min_items=5).order == [
        "gemma",
        "mistral",
    ]
    assert advise("kyc", ["mistral", "vllm"], {}, STATS, "cost", 0.8).acts
    assert not advise("kyc", ["a"], {}, {}, "cost", 0.8).acts  # no results: nothing to act on
    assert advice.to_dict()["acts"] is False and json.dumps(advice.to_dict())


def test_meets_floor_needs_a_floor() -> None:
    advice = advise("kyc", ["mistral", "vllm"], {}, STATS, "cost", None)
    assert {d.status for d in advice.decisions} == {"ranked"}
    assert all("no floor set" in d.reason for d in advice.decisions)
    zero = {"z": st("z", 0.0)}
    assert advise("kyc", ["z"], {}, zero, "quality", None).decisions[0].status == "ranked"
    assert advise("kyc", ["z"], {}, zero, "quality", 0.1).decisions[0].status == "below-floor"
