"""Per-backend statistics, bootstrap intervals and Pareto fronts on constructed records."""

from __future__ import annotations

import pytest

from souverain.evaluation.stats import bootstrap_ci, pareto_front, pareto_fronts, summarize


def rec(backend: str, score: float, **over: object) -> dict[str, object]:
    base = {
        "backend": backend,
        "score": score,
        "latency_s": 1.0,
        "ttft_s": 0.2,
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "energy_wh": 0.01,
        "energy_wh_low": 0.005,
        "energy_wh_high": 0.015,
        "energy_method": "estimated:cpu-time",
        "cost_eur": 0.0002,
        "cost_method": "machine-time+energy",
        "error": None,
    }
    return base | over


def test_bootstrap_interval_contains_the_mean_and_is_seeded() -> None:
    scores = [0.0, 1.0, 1.0, 0.5, 0.25, 1.0, 0.0, 0.75] * 5
    low, high = bootstrap_ci(scores)  # type: ignore[misc]
    mean = sum(scores) / len(scores)
    assert 0 <= low < mean < high <= 1
    assert bootstrap_ci(scores) == (low, high)
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    assert bootstrap_ci([]) is None
    wide = bootstrap_ci(scores[:8])
    assert wide and wide[1] - wide[0] > high - low  # fewer items, wider interval


def test_summarize_formulas() -> None:
    records = [
        rec("a", 1.0, latency_s=1.0),
        rec("a", 0.0, latency_s=3.0),
        rec("a", 0.5, latency_s=2.0),
    ]
    records.append(rec("a", 0.0, error="timeout", latency_s=None, completion_tokens=None))
    s = summarize(records)["a"]
    assert s.items == 4 and s.errors == 1
    assert s.quality_mean == pytest.approx(1.5 / 4)  # a failed item scores 0
    assert s.quality_ci_low <= s.quality_mean <= s.quality_ci_high  # type: ignore[operator]
    assert s.latency_p50_s == 2.0
    assert s.latency_p95_s == pytest.approx(2.9)
    assert s.completion_tokens == 150 and s.prompt_tokens == 300
    assert s.tokens_per_s == pytest.approx(150 / 6.0)
    assert s.energy_wh == pytest.approx(0.03)
    assert s.j_per_token == pytest.approx(0.03 * 3600 / 150)
    assert s.j_per_item == pytest.approx(0.03 * 3600 / 3)
    assert s.j_per_item_low == pytest.approx(0.015 * 3600 / 3)
    assert s.eur_per_1000_items == pytest.approx(0.2)
    assert s.energy_methods == ["estimated:cpu-time"] and s.cost_methods == ["machine-time+energy"]


def test_unmeasured_stays_none_and_methods_are_collected() -> None:
    records = [
        rec("b", 1.0, energy_wh=None, energy_method=None, cost_eur=None, cost_method="unknown"),
        rec("b", 1.0, energy_wh=0.02, energy_method="measured:nvml", cost_eur=None),
    ]
    s = summarize(records)["b"]
    assert s.energy_wh is None and s.j_per_item is None and s.j_per_token is None  # partial: none
    assert s.eur_per_1000_items is None
    assert s.energy_methods == ["measured:nvml"]
    assert s.cost_methods == ["machine-time+energy", "unknown"]
    assert list(summarize([rec("z", 1), rec("y", 0), rec("z", 0)])) == ["z", "y"]


def test_pareto_front_on_constructed_points() -> None:
    points = {
        "small": (0.40, 0.01),
        "medium": (0.80, 0.10),
        "dominated": (0.70, 0.20),  # medium is better and cheaper
        "large": (0.95, 1.00),
        "twin": (0.80, 0.10),  # equal to medium: neither dominates
        "same-cost-worse": (0.30, 0.01),
        "unmeasured": (0.99, None),
    }
    assert pareto_front(points) == ["small", "medium", "twin", "large"]
    assert pareto_front({}) == []
    assert pareto_front({"only": (0.1, 5.0)}) == ["only"]


def test_pareto_fronts_per_metric() -> None:
    records = [rec("fast", 0.5, latency_s=0.1, cost_eur=0.01), rec("good", 0.9, latency_s=1.0)]
    fronts = pareto_fronts(summarize(records))
    assert fronts["speed"] == ["fast", "good"]
    assert fronts["cost"] == ["good"]  # good is better and cheaper
    assert set(fronts) == {"speed", "energy", "cost"}
