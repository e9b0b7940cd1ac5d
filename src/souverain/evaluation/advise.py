"""The advisor: which order of backends a use case should use, given its bench results.

Pure functions. The caller (``souverain advise``, objective routing) passes the use case's compliant
candidates in configured order, the excluded backends with the policy's reasons, the latest bench
statistics, an objective and a quality floor. The rules (docs/bench.md):

1. candidates with enough evidence (at least ``min_items`` bench items, default 20) whose quality
   meets the floor (all of them when there is no floor: status ``ranked``, never ``meets-floor``),
   best first by the objective (``cost``: EUR per 1,000 items, ``energy``: J per item, ``speed``:
   p50 latency, all lower is better; ``quality``: higher is better); a candidate without a value
   for the metric comes after those with one; ties go to the higher quality, then to the
   configured order;
2. then candidates below the floor, by quality, then configured order: kept, never dropped;
3. then candidates with too few items (``insufficient-evidence``) or without results, in
   configured order: their figures are shown, never used;
4. excluded backends never appear in the order; they are listed with their reason.

Objective routing acts only on advice whose every measured candidate has enough evidence
(:attr:`Advice.acts`).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from souverain.evaluation.stats import METRICS, BackendStats
from souverain.policy.routing import RoutingPlan

log = logging.getLogger("souverain.routing")

Objective = Literal["cost", "energy", "speed", "quality"]
OBJECTIVES: tuple[str, ...] = ("cost", "energy", "speed", "quality")
Status = Literal[
    "meets-floor", "ranked", "below-floor", "insufficient-evidence", "no-results", "excluded"
]
#: the default minimum sample: fewer bench items than this and a backend's figures are shown but
#: never used to order (``bench.min_items``)
MIN_ITEMS = 20


@dataclass(frozen=True)
class Decision:
    backend: str
    status: Status
    rank: int | None  # 1-based position in the recommended order; None when excluded
    quality: float | None = None
    quality_ci: tuple[float | None, float | None] = (None, None)
    metric: float | None = None  # the objective's metric (quality for "quality")
    reason: str = ""
    items: int | None = None  # the sample size behind quality and metric


@dataclass(frozen=True)
class Advice:
    use_case: str
    objective: str
    quality_floor: float | None
    order: list[str]
    decisions: list[Decision] = field(default_factory=list)  # the order, then the excluded
    note: str = ""
    min_items: int = MIN_ITEMS

    @property
    def acts(self) -> bool:
        """Whether objective routing may use this order: at least one candidate was measured, and
        every measured candidate on enough items (else the configured order stands)."""
        statuses = {d.status for d in self.decisions}
        return "insufficient-evidence" not in statuses and bool(
            statuses & {"meets-floor", "ranked", "below-floor"}
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"acts": self.acts}


def _as_stats(value: BackendStats | Mapping[str, Any]) -> BackendStats:
    return value if isinstance(value, BackendStats) else BackendStats.from_dict(value)


def _unit(objective: str) -> str:
    return "quality" if objective == "quality" else METRICS[objective][1]


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def advise(
    use_case: str,
    candidates: Sequence[str],
    excluded: Mapping[str, str],
    stats: Mapping[str, BackendStats | Mapping[str, Any]] | None = None,
    objective: str = "quality",
    quality_floor: float | None = None,
    min_items: int = MIN_ITEMS,
) -> Advice:
    """The recommended order for one use case, with a decision and its reason per backend.

    ``stats`` maps backend names to their latest bench statistics (a results document's
    ``backends``, or :func:`latest_stats`); backends not in it have no results.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    position = {name: i for i, name in enumerate(candidates)}
    known = {n: _as_stats(s) for n, s in (stats or {}).items() if n in position}
    known = {n: s for n, s in known.items() if s.quality_mean is not None}
    thin = {n: s for n, s in known.items() if s.items < min_items}
    known = {n: s for n, s in known.items() if n not in thin}
    floor = quality_floor

    def metric(name: str) -> float | None:
        return known[name].metric(objective)

    def quality(name: str) -> float:
        return known[name].quality_mean or 0.0

    meets = [n for n in candidates if n in known and (floor is None or quality(n) >= floor)]
    below = [n for n in candidates if n in known and n not in meets]
    missing = [n for n in candidates if n not in known]  # too few items, or no results
    if objective == "quality":
        meets.sort(key=lambda n: (-quality(n), position[n]))
    else:
        meets.sort(key=lambda n: (metric(n) is None, metric(n) or 0.0, -quality(n), position[n]))
    below.sort(key=lambda n: (-quality(n), position[n]))
    order = meets + below + missing

    decisions: list[Decision] = []
    for rank, name in enumerate(order, start=1):
        if name in known:
            s = known[name]
            q = f"quality {_num(s.quality_mean)}"
            if name in meets:
                status: Status = "meets-floor" if floor is not None else "ranked"
                reason = f"{q} ≥ floor {floor:g}" if floor is not None else q + " (no floor set)"
                if objective != "quality":
                    reason += f"; {_num(metric(name))} {_unit(objective)}"
                    if metric(name) is None:
                        reason += " (not measured: after those measured)"
            else:
                status = "below-floor"
                reason = f"{q} < floor {floor:g}: kept after the candidates that meet it"
            decisions.append(
                Decision(
                    name,
                    status,
                    rank,
                    s.quality_mean,
                    (s.quality_ci_low, s.quality_ci_high),
                    metric(name),
                    reason,
                    s.items,
                )
            )
        elif name in thin:
            s = thin[name]
            decisions.append(
                Decision(
                    name,
                    "insufficient-evidence",
                    rank,
                    s.quality_mean,
                    (s.quality_ci_low, s.quality_ci_high),
                    s.metric(objective),
                    f"insufficient evidence: {s.items} items < {min_items} "
                    f"(quality {_num(s.quality_mean)} not used): configured order",
                    s.items,
                )
            )
        else:
            decisions.append(
                Decision(name, "no-results", rank, reason="no bench results: configured order")
            )
    for name, why in excluded.items():
        decisions.append(Decision(name, "excluded", None, reason=why))

    if not candidates:
        note = "no compliant candidate: requests for this use case are refused"
    elif thin:
        note = (
            f"insufficient evidence for {', '.join(thin)} (under {min_items} items): "
            "the configured order stands for objective routing"
        )
    elif not known:
        note = "no bench results: the configured order stands"
    elif not meets:
        note = (
            f"no candidate meets the quality floor {floor:g}: ordered by quality; "
            "the use case's policy decides whether to serve below it"
        )
    else:
        best = order[0]
        note = f"{best} first: {'best quality' if objective == 'quality' else 'best ' + objective}"
        note += f" among {len(meets)} candidate(s) meeting the floor" if floor is not None else ""
    return Advice(use_case, objective, quality_floor, order, decisions, note, min_items)


# --- reading results ---------------------------------------------------------------------------


def results_dir(config: Any) -> Path:
    """Where bench results live: ``bench.results_dir``, else ``<data dir>/bench``."""
    from souverain.paths import data_dir

    return Path(config.bench.results_dir) if config.bench.results_dir else data_dir() / "bench"


def load_all_results(root: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable ``results.json`` under ``root`` (read once; pass to :func:`latest_stats`)."""
    from souverain.evaluation.report import RESULTS_FILE, load_results

    docs = []
    for path in sorted(Path(root).rglob(RESULTS_FILE)) if Path(root).exists() else []:
        try:
            docs.append((path, load_results(path)))
        except (ValueError, OSError, json.JSONDecodeError):
            continue
    return docs


def latest_stats(
    root: str | Path,
    use_case: str,
    suite: str | None = None,
    docs: list[tuple[Path, dict[str, Any]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per backend, its statistics from the newest ``results.json`` under ``root`` that has it.

    Only results for ``use_case`` (and ``suite`` when given) count. Each value is the backend's
    stats dict plus ``results_at`` (the run's UTC time), ``suite`` and ``results_path``.
    ``docs``: results already read with :func:`load_all_results` (``root`` is then not read).
    """
    found: dict[str, dict[str, Any]] = {}
    for path, doc in docs if docs is not None else load_all_results(root):
        if doc.get("use_case") != use_case:
            continue
        if suite is not None and doc.get("suite", {}).get("name") != suite:
            continue
        at = str(doc.get("created_at", ""))
        for backend, stats in doc.get("backends", {}).items():
            if backend not in found or at > found[backend]["results_at"]:
                found[backend] = dict(stats) | {
                    "results_at": at,
                    "suite": doc.get("suite", {}).get("name"),
                    "results_path": str(path),
                }
    return found


def advise_use_case(
    use_case: Any,
    backends: Mapping[str, Any],
    docs: list[tuple[Path, dict[str, Any]]],
    objective: str | None = None,
    min_items: int = MIN_ITEMS,
) -> Advice:
    """:func:`advise` for a configured use case: its compliant candidates and exclusions from
    the gateway's own placement (static: health is not checked), its latest results in ``docs``,
    ``objective`` (default: the use case's, else quality) and its ``quality_floor``."""
    from souverain.policy.placement import place

    placement = place(use_case, backends, check_health=False)
    return advise(
        use_case.name,
        [c.backend.name for c in placement.candidates],
        {e.backend: e.reason for e in placement.excluded},
        latest_stats("", use_case.name, docs=docs),
        objective or use_case.objective or "quality",
        use_case.quality_floor,
        min_items,
    )


def routing_plans(config: Any, backends: Mapping[str, Any]) -> dict[str, RoutingPlan]:
    """Objective routing (a :data:`~souverain.policy.routing.RoutingSource`): per use case with an
    ``objective``, the order :func:`advise_use_case` recommends from its latest bench results.

    A use case without results for its candidates gets no plan: its configured order stands."""
    routed = [uc for uc in config.use_cases if uc.objective is not None]
    if not routed:
        return {}
    root = results_dir(config)
    docs = load_all_results(root)
    log.info("objective routing: %d results.json under %s", len(docs), root)
    plans = {}
    for uc in routed:
        advice = advise_use_case(uc, backends, docs, min_items=config.bench.min_items)
        if not advice.acts:  # no results, or too few items: the configured order stands
            log.info("objective routing for %s: configured order (%s)", uc.name, advice.note)
            continue
        below = {d.backend: d.reason for d in advice.decisions if d.status == "below-floor"}
        plans[uc.name] = RoutingPlan(advice.order, below)
        log.info(
            "objective routing for %s (%s): %s", uc.name, uc.objective, ", ".join(advice.order)
        )
    return plans


# --- writing the order into a copy of the config ------------------------------------------------


def _indent_of(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) of the first block sequence in ``text``; (2, 0) if none."""
    lines = text.splitlines()
    for prev, line in itertools.pairwise(lines):
        parent = re.match(r"^(\s*)[\w.-]+:\s*(#.*)?$", prev)
        dash = re.match(r"^(\s*)- ", line)
        if parent and dash:
            offset = len(dash.group(1)) - len(parent.group(1))
            return offset + 2, offset
    return 2, 0


def write_backends_order(
    config_path: str | Path, use_case: str, order: Sequence[str], out_path: str | Path
) -> Path:
    """Write a copy of the YAML config with ``use_case``'s ``backends:`` list set to ``order``.

    Comments, key order, quoting and the list's own style (block or ``[a, b]``) are kept (ruamel
    round trip); only the list's items change.
    """
    from ruamel.yaml import YAML

    if not order:
        raise ValueError("the backends order is empty")
    source = Path(config_path)
    text = source.read_text(encoding="utf-8")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    sequence, offset = _indent_of(text)
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    doc = yaml.load(text)
    use_cases = doc.get("use_cases") if hasattr(doc, "get") else None
    target = next(
        (uc for uc in use_cases or [] if hasattr(uc, "get") and uc.get("name") == use_case), None
    )
    if target is None:
        raise ValueError(f"{source}: use_cases: no use case named {use_case!r}")
    backends = target.get("backends")
    if backends is None or not hasattr(backends, "extend"):
        raise ValueError(f"{source}: use_cases[{use_case}].backends: not a list")
    del backends[:]
    backends.extend(order)
    out = Path(out_path)
    with out.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    return out
