"""Placement fails closed: every combination of policy x backend metadata x health."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from souverain.backends.base import Capabilities
from souverain.config.models import Policy, UseCaseConfig
from souverain.policy.placement import Needs, place
from tests.support.fakes import FakeBackend


@dataclass(frozen=True)
class F:
    type: str
    category: str


EMAIL = F("email", "personal_data")
KEY = F("secret", "secret")
MARK = F("confidential_marker", "confidential")
MEDIA = F("media", "media")

METAS = {  # name: (self_hosted, jurisdiction, location, open_weights)
    "local-fr": (True, "FR", "FR", True),
    "mistral": (False, "FR", "FR", False),
    "us-in-ie": (False, "US", "IE", False),
    "local-closed": (True, "DE", "DE", False),
}
POLICIES = {
    "none": Policy(personal_data="allow", confidential="allow"),
    "eu-jurisdiction": Policy(allowed_jurisdictions=["EU"], personal_data="allow"),
    "eu-location": Policy(allowed_locations=["EU"], personal_data="allow"),
    "self-hosted": Policy(require_self_hosted=True),
    "open-weights": Policy(require_open_weights=True),
    "pseudo": Policy(personal_data="pseudonymize"),
    "keep-local": Policy(personal_data="keep-local"),
    "block": Policy(personal_data="block"),
    "media-allow": Policy(personal_data="block", media="allow"),
    "media-local": Policy(personal_data="allow", media="keep-local"),
    "media-block": Policy(personal_data="allow", media="block"),
}


def allowed(policy: Policy, meta: tuple, findings: list[F]) -> tuple[bool, bool]:
    """Independent oracle: (may serve, must pseudonymise)."""
    self_hosted, jur, loc, open_w = meta
    eu = {"FR", "DE", "IE"}
    if policy.allowed_jurisdictions and jur not in eu:
        return False, False
    if policy.allowed_locations and loc not in eu:
        return False, False
    if policy.require_self_hosted and not self_hosted:
        return False, False
    if policy.require_open_weights and not open_w:
        return False, False
    actions = {
        "personal_data": policy.personal_data,
        "secret": policy.secrets,
        "confidential": policy.confidential,
        # media follow personal_data unless set; pseudonymize cannot apply to them
        "media": policy.media
        or ("keep-local" if policy.personal_data == "pseudonymize" else policy.personal_data),
    }
    cats = {f.category for f in findings}
    if any(actions[c] == "block" for c in cats):
        return False, False
    if any(actions[c] == "keep-local" for c in cats) and not self_hosted:
        return False, False
    return True, (not self_hosted and any(actions[c] == "pseudonymize" for c in cats))


def backend(name: str, healthy: bool) -> FakeBackend:
    sh, jur, loc, ow = METAS[name]
    return FakeBackend(
        name, self_hosted=sh, jurisdiction=jur, location=loc, open_weights=ow, healthy=healthy
    )


@pytest.mark.parametrize(
    "policy_name,meta_name,healthy,findings",
    list(
        itertools.product(
            POLICIES,
            METAS,
            [True, False],
            [(), (EMAIL,), (KEY,), (MARK,), (EMAIL, MARK), (MEDIA,), (EMAIL, MEDIA)],
        )
    ),
)
def test_fail_closed_matrix(
    policy_name: str, meta_name: str, healthy: bool, findings: tuple
) -> None:
    policy = POLICIES[policy_name]
    uc = UseCaseConfig(name="uc", backends=[meta_name], policy=policy)
    placement = place(uc, {meta_name: backend(meta_name, healthy)}, list(findings))
    may, pseudo = allowed(policy, METAS[meta_name], list(findings))
    if placement.blocked:
        assert not may and placement.candidates == []
        return
    if may and healthy:
        assert [c.backend.name for c in placement.candidates] == [meta_name]
        assert placement.candidates[0].pseudonymize == pseudo
    else:
        assert placement.candidates == []
        assert placement.excluded and placement.excluded[0].backend == meta_name
        assert meta_name in placement.refusal_message()


def test_us_operator_in_eu_region_is_still_us_law() -> None:
    uc = UseCaseConfig(
        name="kyc", backends=["us-in-ie"], policy=Policy(allowed_jurisdictions=["EU"])
    )
    placement = place(uc, {"us-in-ie": backend("us-in-ie", True)})
    assert not placement.candidates
    assert "US law" in placement.refusal_message()


def test_order_kept_and_fallback_only_among_compliant() -> None:
    uc = UseCaseConfig(
        name="research",
        backends=["mistral", "us-in-ie", "local-fr"],
        policy=Policy(allowed_jurisdictions=["EU", "US"], personal_data="pseudonymize"),
    )
    backends = {n: backend(n, True) for n in uc.backends}
    p = place(uc, backends, [EMAIL])
    assert [c.backend.name for c in p.candidates] == ["mistral", "us-in-ie", "local-fr"]
    assert [c.pseudonymize for c in p.candidates] == [True, True, False]
    uc2 = uc.model_copy(
        update={"policy": Policy(allowed_jurisdictions=["EU"], personal_data="pseudonymize")}
    )
    p2 = place(uc2, backends, [EMAIL])
    assert [c.backend.name for c in p2.candidates] == ["mistral", "local-fr"]


def test_only_self_hosted_remains_when_keep_local_data_found_and_it_is_down() -> None:
    uc = UseCaseConfig(
        name="research", backends=["mistral", "local-fr"], policy=Policy(confidential="keep-local")
    )
    backends = {"mistral": backend("mistral", True), "local-fr": backend("local-fr", False)}
    p = place(uc, backends, [MARK])
    assert p.candidates == []
    reasons = p.refusal_message()
    assert (
        "mistral: not self-hosted" in reasons
        and "keep-local" in reasons
        and "local-fr: unhealthy" in reasons
    )


def test_capability_gap_excludes() -> None:
    uc = UseCaseConfig(name="t", backends=["a", "b"])
    a = FakeBackend("a", capabilities=Capabilities(tools=False))
    b = FakeBackend("b", capabilities=Capabilities(tools=True))
    p = place(uc, {"a": a, "b": b}, [], Needs(tools=True))
    assert [c.backend.name for c in p.candidates] == ["b"]
    assert p.excluded[0].kind == "capability"


def test_static_exclusions_are_judged_once_per_policy_and_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The config is immutable: the jurisdiction/location/self-hosted rules of a (policy, backend)
    pair are computed once, not on every request; another policy object is judged afresh."""
    import souverain.policy.placement as placement_mod

    calls: list[str] = []
    real = placement_mod.static_exclusion

    def counted(policy: Policy, meta):  # type: ignore[no-untyped-def]
        calls.append(meta.name)
        return real(policy, meta)

    monkeypatch.setattr(placement_mod, "static_exclusion", counted)
    backends = {n: backend(n, True) for n in ("local-fr", "us-in-ie")}
    uc = UseCaseConfig(
        name="kyc", backends=list(backends), policy=Policy(allowed_jurisdictions=["EU"])
    )
    first = [place(uc, backends) for _ in range(5)]
    assert sorted(calls) == ["local-fr", "us-in-ie"]
    assert all([c.backend.name for c in p.candidates] == ["local-fr"] for p in first)
    assert all("US law" in p.excluded[0].reason for p in first)
    other = UseCaseConfig(name="kyc", backends=list(backends), policy=Policy())
    assert [c.backend.name for c in place(other, backends).candidates] == ["local-fr", "us-in-ie"]
    assert len(calls) == 4
