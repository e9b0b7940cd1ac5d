"""An exit drill from start to verdict, and the one ledger row that records it.

Per use case (docs/drills.md, "Exit drills"):

1. plan (:mod:`souverain.drill.plan`): current and exit placement, capability needs;
2. ``no-exit`` if no compliant backend remains or one the traffic needs is missing;
   ``ready`` without replay if the removal touches none of the use case's current candidates;
3. otherwise replay the workload (:mod:`souverain.drill.replay`) on both placements and compare
   (:mod:`souverain.drill.compare`): ``ready`` within every tolerance, else ``degraded``;
   with ``plan_only`` the verdict rests on the plan (``basis: plan``) and says so;
4. ``unverified`` (never a pass) when the drill could not check what its verdict would rest on:
   a backend it relies on failed its probe (:mod:`souverain.drill.probe`; ``basis: probe``), or
   there is nothing to replay (no suite, no captured traffic) and ``plan_only`` was not given.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from souverain.config.models import UseCaseConfig
from souverain.drill.compare import compare, describe_violation
from souverain.drill.needs import ObservedNeeds, observed_needs
from souverain.drill.plan import UseCasePlan, plan_use_case
from souverain.drill.probe import DEFAULT_PROBE_TIMEOUT_S, Probe, probe_backends
from souverain.drill.removal import Removal
from souverain.drill.replay import WorkItem, capture_items, replay, suite_items
from souverain.ledger.record import LedgerRecord, format_ts, utcnow

#: how much of each replayed answer drill.json keeps (suite answers are synthetic; captured
#: requests are replayed with their placeholders, so their answers hold no replaced value)
OUTPUT_CHARS = 200
_REQUEST_KEYS = (
    "side",
    "workload",
    "item_id",
    "backend",
    "request_id",
    "score",
    "latency_s",
    "ttft_s",
    "prompt_tokens",
    "completion_tokens",
    "energy_wh",
    "energy_method",
    "cost_eur",
    "cost_method",
    "error",
)

Verdict = Literal["ready", "degraded", "no-exit", "unverified"]
Basis = Literal["unaffected", "replay", "plan", "placement", "probe"]


@dataclass
class UseCaseResult:
    use_case: str
    verdict: Verdict
    #: what the verdict rests on: ``unaffected`` (removal does not touch it), ``replay``
    #: (measured), ``plan`` (placement only: dry run, or nothing to replay), ``placement``
    #: (no-exit), ``probe`` (a backend it relies on did not answer its probe)
    basis: Basis
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    current: dict[str, Any] | None = None
    exit: dict[str, Any] | None = None
    exit_excluded: list[str] = field(default_factory=list)
    needs: dict[str, Any] = field(default_factory=dict)
    capabilities: list[dict[str, Any]] = field(default_factory=list)
    tolerances: dict[str, float] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    served_by: dict[str, dict[str, int]] = field(default_factory=dict)
    #: one per replayed request and side (answers cut to :data:`OUTPUT_CHARS`)
    requests: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, bool] = field(default_factory=dict)
    #: the active probe of each candidate backend (empty in a dry run: nothing is contacted)
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class DrillReport:
    drill_id: str
    started_at: datetime
    config_hash: str
    removal: Removal
    plan_only: bool
    results: list[UseCaseResult] = field(default_factory=list)
    finished_at: datetime | None = None
    ledger_row: str | None = None

    def verdicts(self) -> dict[str, str]:
        return {r.use_case: r.verdict for r in self.results}

    def exit_code(self, allow_degraded: bool = False) -> int:
        """0 only if every drilled use case is ``ready`` (or ``degraded``, if allowed);
        ``no-exit`` and ``unverified`` always fail."""
        ok = {"ready", "degraded"} if allow_degraded else {"ready"}
        return 0 if all(r.verdict in ok for r in self.results) else 1

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "drill_id": self.drill_id,
            "kind": "exit",
            "started_at": format_ts(self.started_at),
            "finished_at": format_ts(self.finished_at) if self.finished_at else None,
            "config_hash": self.config_hash,
            "removed": self.removal.as_dict(),
            "plan_only": self.plan_only,
            "ledger_row": self.ledger_row,
            "verdicts": self.verdicts(),
            "use_cases": [asdict(r) for r in self.results],
        }


def backend_facts(backend: Any) -> dict[str, Any] | None:
    if backend is None:
        return None
    m = backend.metadata
    return {
        "name": m.name,
        "type": m.type,
        "model": m.model,
        "operator": m.operator,
        "operator_jurisdiction": m.operator_jurisdiction,
        "location": m.location,
        "self_hosted": m.self_hosted,
        "open_weights": m.open_weights,
    }


def relied_on(plan: UseCasePlan) -> dict[str, str]:
    """The backends a verdict rests on, by role: ``{backend: "current" | "exit" | "current
    and exit"}`` (the backend serving the use case today and the one serving it after the exit)."""
    roles: dict[str, list[str]] = {}
    for role, backend in (("current", plan.current_backend), ("exit", plan.exit_backend)):
        if backend is not None:
            roles.setdefault(backend.name, []).append(role)
    return {name: " and ".join(r) for name, r in roles.items()}


def _base_result(plan: UseCasePlan, probes: dict[str, Probe] | None = None) -> UseCaseResult:
    uc = plan.use_case
    result = UseCaseResult(
        uc.name,
        "ready",
        "plan",
        current=backend_facts(plan.current_backend),
        exit=backend_facts(plan.exit_backend),
        exit_excluded=[str(e) for e in plan.exit.excluded],
        needs=plan.needs.as_dict(),
        capabilities=plan.capability_check(),
        tolerances=uc.exit.model_dump(),
        health=plan.health,
        probes={n: probes[n].as_dict() for n in uc.backends if probes and n in probes},
    )
    if not plan.needs.known:
        result.notes.append(
            "no ledger: the capabilities the traffic uses are unknown (not checked)"
        )
    elif plan.needs.requests == 0:
        result.notes.append("no served request in the ledger's window: no capability need known")
    if plan.current_backend is None:
        result.notes.append("no compliant backend serves this use case even before the removal")
    down = [n for n, ok in plan.health.items() if not ok]
    if down:
        result.notes.append(f"unhealthy at drill time: {', '.join(down)}")
    if probes is None:
        result.notes.append("dry run: no backend was contacted (not probed)")
    return result


def decide_without_replay(
    plan: UseCasePlan, plan_only: bool, probes: dict[str, Probe] | None = None
) -> UseCaseResult | None:
    """The verdict when the plan or the probes decide it (no-exit, a backend down, unaffected,
    dry run); else None. ``probes``: the active probes (None in a dry run)."""
    result = _base_result(plan, probes)
    if plan.no_exit is not None:
        result.verdict, result.basis = "no-exit", "placement"
        result.reasons.append(plan.no_exit)
        return result
    if probes is not None:
        down = [
            (n, role) for n, role in relied_on(plan).items() if n in probes and not probes[n].ok
        ]
        if down:
            result.verdict, result.basis = "unverified", "probe"
            for name, role in down:
                result.reasons.append(f"{role} backend {name} is down: {probes[name].detail}")
            return result
    if not plan.affected:
        result.basis = "unaffected"
        cur = plan.current_backend.name
        result.notes.append(
            f"the removal touches none of its current candidates: still served by {cur}; no replay"
        )
        return result
    if plan_only:
        result.notes.append("dry run (--plan-only): placement changes, not replayed")
        return result
    return None


def decide_from_replay(
    plan: UseCasePlan,
    records: list[dict[str, Any]],
    workload: dict[str, Any],
    unchanged: int = 0,
    probes: dict[str, Probe] | None = None,
) -> UseCaseResult:
    result = _base_result(plan, {} if probes is None else probes)
    result.workload = {**workload, "unchanged_items": unchanged}
    if unchanged:
        result.notes.append(
            f"{unchanged} request(s) of the workload are placed on the same backend after the "
            "removal: not replayed"
        )
    if not records:
        if unchanged:
            result.basis = "unaffected"
            result.notes.append("the removal changes the placement of no request of the workload")
        else:
            result.verdict = "unverified"
            result.reasons.append(nothing_to_replay(plan.use_case, workload))
        return result
    result.basis = "replay"
    served: dict[str, Counter[str]] = {"current": Counter(), "exit": Counter()}
    for r in records:
        served[r["side"]][r.get("backend") or "(refused)"] += 1
    result.served_by = {side: dict(c) for side, c in served.items()}
    result.requests = [
        {k: r.get(k) for k in _REQUEST_KEYS} | {"output": (r.get("output") or "")[:OUTPUT_CHARS]}
        for r in records
    ]
    exit_records = [r for r in records if r["side"] == "exit"]
    if (
        exit_records
        and not unchanged
        and all(r.get("refused") and r.get("backend") is None for r in exit_records)
    ):
        result.verdict = "no-exit"
        result.reasons.append(
            "no remaining backend may receive this workload's requests: "
            + str(exit_records[0].get("error"))
        )
    checks = compare(records, plan.use_case.exit)
    result.checks = [c.as_dict() for c in checks]
    for c in checks:
        if c.note and c.ok:
            result.notes.append(f"{c.metric}: {c.note}")
    violations = [describe_violation(c) for c in checks if not c.ok]
    if violations and result.verdict == "ready":
        result.verdict = "degraded"
    result.reasons.extend(violations)
    return result


def nothing_to_replay(use_case: UseCaseConfig, workload: dict[str, Any]) -> str:
    """Why there is nothing to replay, and what to set (the verdict is then ``unverified``)."""
    if use_case.capture.enabled:
        where = "its suite has no item and no captured request is stored"
        if not use_case.suite:
            where = "it has no suite: and no captured request is stored"
    else:
        where = "it has no suite: and does not capture traffic"
    return (
        f"nothing to replay: {where}; set its suite (e.g. suite: doc-classify) or capture.enabled"
    )


def workload_items(
    use_case: UseCaseConfig, capture_store: Any, limit: int | None
) -> tuple[list[WorkItem], dict[str, Any]]:
    from souverain.evaluation.suite import load_suite

    items: list[WorkItem] = []
    info: dict[str, Any] = {"suite": None, "suite_items": 0, "captured_items": 0}
    if use_case.suite:
        suite = load_suite(use_case.suite)
        got = suite_items(suite, limit)
        items += got
        info.update(suite=suite.name, suite_items=len(got), suite_digest=suite.digest)
    if use_case.capture.enabled and capture_store is not None:
        got = capture_items(capture_store.items(use_case.name, limit))
        items += got
        info["captured_items"] = len(got)
    elif not use_case.capture.enabled:
        info["capture"] = "not enabled"
    return items, info


async def run_drill(
    runtime: Any,
    removal: Removal,
    use_cases: list[UseCaseConfig],
    *,
    limit: int | None = None,
    plan_only: bool = False,
    config_hash: str = "",
    on_request: Callable[[str, str, dict[str, Any]], None] | None = None,
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT_S,
    on_workload: Callable[[str, int], None] | None = None,
) -> DrillReport:
    """Drill every use case of ``use_cases``; write the drill's ledger row; return the report.

    ``runtime``'s ledger must be open (for the capability needs and the drill row); its backends
    must be started unless ``plan_only``. Unless ``plan_only``, every candidate of the current
    and exit placements is probed first (``probe_timeout`` seconds each, all at once).
    ``on_workload(use_case, items)`` is called before a use case's items are replayed (each
    item has two sides), ``on_request(use_case, side, record)`` after each replayed request."""
    report = DrillReport(f"drill-{secrets.token_hex(8)}", utcnow(), config_hash, removal, plan_only)
    needs = observed_needs(runtime.ledger, [u.name for u in use_cases])
    store = None
    if runtime.ledger is not None and not plan_only:
        from souverain.capture import CaptureStore

        store = CaptureStore(runtime.ledger)
    plans = [
        plan_use_case(uc, runtime.backends, removal, needs.get(uc.name, ObservedNeeds()))
        for uc in use_cases
    ]
    probes: dict[str, Probe] | None = None
    if not plan_only:
        names = [c.backend.name for p in plans for c in p.current.candidates + p.exit.candidates]
        probes = await probe_backends(runtime.backends, names, probe_timeout)
    for plan in plans:
        uc = plan.use_case
        if probes is not None:
            plan.health = {n: probes[n].ok for n in uc.backends if n in probes}
        result = decide_without_replay(plan, plan_only, probes)
        if result is None:
            items, info = workload_items(uc, store, limit)
            if on_workload is not None:
                on_workload(uc.name, len(items))

            def tick(side: str, record: dict[str, Any], name: str = uc.name) -> None:
                if on_request is not None:
                    on_request(name, side, record)

            records, unchanged = await replay(runtime, uc, removal, items, tick)
            result = decide_from_replay(plan, records, info, unchanged, probes)
        report.results.append(result)
    report.finished_at = utcnow()
    await record_drill(runtime.ledger, report)
    return report


def drill_record(report: DrillReport) -> LedgerRecord:
    """The drill's own ledger row: ``kind = "drill"``, its verdicts as compact JSON in ``reason``."""
    body = {
        "drill": "exit",
        "removed": report.removal.describe(),
        "plan_only": report.plan_only,
        "verdicts": report.verdicts(),
        "config_hash": report.config_hash,
    }
    return LedgerRecord(
        request_id=report.drill_id,
        ts=report.finished_at or utcnow(),
        kind="drill",
        use_case=None,
        operation="drill.exit",
        decision="served",
        status="completed",
        reason=json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )


async def record_drill(ledger: Any, report: DrillReport) -> None:
    if ledger is None:
        return
    rec = drill_record(report)
    await ledger.finish(rec)
    report.ledger_row = rec.request_id
