"""Placement: which backend may serve this request, and what must happen to its data first.

For each request (issue #3): the use case's candidates in order -> drop those the static policy
forbids (jurisdiction, location, self-hosting, open weights) -> drop those lacking a capability the
request uses -> apply the data actions to what the classifier found -> drop unhealthy ones. The
first remaining candidate serves; the others are the fallback order. Nothing here looks at a
client-supplied region or tag: only configuration and the request's content decide.

This module is pure (no I/O): the gateway, the bench and the exit drills all call :func:`place`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from souverain.backends.base import BackendMetadata, Capabilities
from souverain.config.models import CATEGORY_FIELDS, Policy, UseCaseConfig
from souverain.policy.rules import static_exclusion

ExclusionKind = Literal["policy", "capability", "data", "health", "loading", "removed", "failed"]


def category_action(policy: Any, category: str) -> str | None:
    """The policy's action for a finding category (``media`` follows ``personal_data`` unless
    set: see :attr:`~souverain.config.models.Policy.media_action`)."""
    if category == "media":
        return str(policy.media_action)
    field_name = CATEGORY_FIELDS.get(category)
    return getattr(policy, field_name) if field_name else None


class FindingLike(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def category(self) -> str: ...


class BackendLike(Protocol):
    name: str

    @property
    def metadata(self) -> BackendMetadata: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def is_healthy(self) -> bool: ...

    def unhealthy_reason(self) -> str: ...

    def is_loading(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Needs:
    """API capabilities the request uses."""

    stream: bool = False
    tools: bool = False
    json_mode: bool = False
    context_tokens: int = 0
    #: an embeddings request (POST /v1/embeddings), and the vector length it asks for
    embedding: bool = False
    dimensions: int | None = None
    #: (kind, where) of the first content part of each media kind the messages carry, as
    #: ``("image", "messages[0].content[1]")``
    media: tuple[tuple[str, str], ...] = ()
    #: the optional parameters it sets (``backends.base.OPTIONAL_PARAMS``)
    params: tuple[str, ...] = ()


@dataclass(slots=True)
class Exclusion:
    backend: str
    kind: ExclusionKind
    reason: str
    #: for a capability gap, the request parameter it comes from (``stream``, ``tools``,
    #: ``response_format``, ``messages`` for the context length)
    param: str | None = None

    def __str__(self) -> str:
        return f"{self.backend}: {self.reason}"


@dataclass(slots=True)
class Candidate:
    backend: Any
    pseudonymize: bool = False


@dataclass(slots=True)
class Placement:
    use_case: str
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    data_types: dict[str, int] = field(default_factory=dict)
    #: finding types whose category's action is ``block`` (the request is refused with 403)
    blocked_types: list[str] = field(default_factory=list)
    #: finding categories whose action is ``pseudonymize``
    pseudonymize_categories: frozenset[str] = frozenset()

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_types)

    def refusal_message(self) -> str:
        if not self.excluded:
            return f"use case {self.use_case!r} has no candidate backend"
        parts = "; ".join(str(e) for e in self.excluded)
        return f"no compliant backend for use case {self.use_case!r}: {parts}"

    def only_capability_gaps(self) -> bool:
        return bool(self.excluded) and all(e.kind == "capability" for e in self.excluded)

    def loading(self) -> list[Exclusion]:
        """Candidates that passed every rule and only wait for their model to load: with no
        other candidate, the request can be served once one has (503 ``model_loading``)."""
        return [e for e in self.excluded if e.kind == "loading"]

    def only_context_gaps(self) -> bool:
        """Every candidate is too small for the prompt: OpenAI's ``context_length_exceeded``."""
        return self.only_capability_gaps() and all(e.param == "messages" for e in self.excluded)

    def keep_only(self, name: str) -> None:
        """Bench and drills: serve on backend ``name`` only, no fallback (the exclusions kept are
        that backend's, or "not a candidate" when the use case does not list it)."""
        kept = [c for c in self.candidates if c.backend.name == name]
        self.excluded = [e for e in self.excluded if e.backend == name] or (
            [] if kept else [Exclusion(name, "removed", "not a candidate of this use case")]
        )
        self.candidates = kept


def _capability_gap(caps: Capabilities, needs: Needs) -> tuple[str, str] | None:
    """The request parameter a backend cannot honour, and why (None: it can)."""
    if needs.embedding and not caps.embeddings:
        return "model", "does not give embeddings (it generates text)"
    if not needs.embedding and not caps.generation:
        return "model", "is an embedding model: it does not generate text (POST /v1/embeddings)"
    native = caps.embedding_dimensions
    want = needs.dimensions
    if (
        want is not None
        and want != native
        and (not caps.shortens_embeddings or (native is not None and want > native))
    ):
        return "dimensions", (
            f"gives {native}-dimensional vectors only" if native else "cannot set dimensions"
        )
    if needs.stream and not caps.streaming:
        return "stream", "does not support streaming"
    if needs.tools and not caps.tools:
        return "tools", "does not support tools"
    if needs.json_mode and not caps.json_mode:
        return "response_format", "does not support JSON mode (response_format)"
    for param in needs.params:
        if param not in caps.params:
            return param, f"does not support {param}"
    for kind, where in needs.media:
        if kind not in caps.media_input:
            return where, f"does not read {kind} input ({where} is a part it cannot see)"
    if caps.context_length and needs.context_tokens > caps.context_length:
        return (
            "messages",
            f"context length {caps.context_length} < ~{needs.context_tokens} tokens needed",
        )
    return None


def _local_action(policy: Any, category: str) -> str:
    action = category_action(policy, category)
    if action == "pseudonymize":  # only embeddings turn it into keep-local
        return "pseudonymize (an embedding is kept local: a placeholder would change the vector)"
    return "keep-local"


def _types_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{t}×{n}" for t, n in sorted(counts.items()))


#: static exclusions per (policy, backend metadata): both come from the config, which is immutable
#: once loaded, so each pair is judged once. Keyed by the policy's identity; the entry holds the
#: policy itself so that its id cannot be reused while the entry lives.
_STATIC: dict[tuple[int, BackendMetadata], tuple[Policy, tuple[str, str] | None]] = {}
_STATIC_MAX = 4096


def _static_exclusion(policy: Policy, meta: BackendMetadata) -> tuple[str, str] | None:
    key = (id(policy), meta)
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    rule = static_exclusion(policy, meta)
    if len(_STATIC) >= _STATIC_MAX:
        _STATIC.clear()
    _STATIC[key] = (policy, rule)
    return rule


def place(
    use_case: UseCaseConfig,
    backends: Mapping[str, BackendLike],
    findings: Iterable[FindingLike] = (),
    needs: Needs = Needs(),
    *,
    removed: Callable[[BackendMetadata], str | None] | None = None,
    check_health: bool = True,
) -> Placement:
    """Decide the ordered list of compliant candidates for one request.

    ``removed`` lets exit drills take backends away (it returns a reason or None); it applies
    before anything else, exactly like a backend that no longer exists.
    """
    policy = use_case.policy
    found = list(findings)
    by_category: dict[str, Counter[str]] = {}
    for f in found:
        by_category.setdefault(f.category, Counter())[f.type] += 1
    placement = Placement(
        use_case=use_case.name, data_types=dict(Counter(f.type for f in found)) if found else {}
    )

    actions: dict[str, str | None] = {}
    if found:  # the data actions only concern the categories found (none: nothing to look up)
        actions = {cat: category_action(policy, cat) for cat in CATEGORY_FIELDS}
    if needs.embedding:  # a placeholder changes the vector: pseudonymising means keeping local
        actions = {c: "keep-local" if a == "pseudonymize" else a for c, a in actions.items()}
    for cat, counts in by_category.items():
        if actions.get(cat) == "block":
            placement.blocked_types.extend(sorted(counts))
    if placement.blocked:
        return placement
    keep_local = {
        cat: counts for cat, counts in by_category.items() if actions.get(cat) == "keep-local"
    }
    placement.pseudonymize_categories = frozenset(
        cat for cat in by_category if actions.get(cat) == "pseudonymize"
    )

    for name in use_case.backends:
        backend = backends.get(name)
        if backend is None:
            placement.excluded.append(Exclusion(name, "removed", "backend not available"))
            continue
        meta = backend.metadata
        if removed is not None and (why := removed(meta)):
            placement.excluded.append(Exclusion(name, "removed", why))
            continue
        rule = _static_exclusion(policy, meta)
        if rule is not None:
            placement.excluded.append(Exclusion(name, "policy", rule[1]))
            continue
        gap = _capability_gap(backend.capabilities, needs)
        if gap is not None:
            placement.excluded.append(Exclusion(name, "capability", gap[1], param=gap[0]))
            continue
        if keep_local and not meta.self_hosted:
            what = "; ".join(
                f"{cat} found ({_types_text(c)}) and policy {CATEGORY_FIELDS[cat]}: "
                f"{_local_action(policy, cat)}"
                for cat, c in keep_local.items()
            )
            placement.excluded.append(Exclusion(name, "data", f"not self-hosted, {what}"))
            continue
        if check_health and not backend.is_healthy():
            if backend.is_loading():
                placement.excluded.append(Exclusion(name, "loading", "its model is still loading"))
            else:
                placement.excluded.append(
                    Exclusion(name, "health", f"unhealthy ({backend.unhealthy_reason()})")
                )
            continue
        pseudo = bool(placement.pseudonymize_categories) and not meta.self_hosted
        placement.candidates.append(Candidate(backend, pseudonymize=pseudo))
    return placement
