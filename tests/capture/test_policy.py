"""Which use cases may be captured: opt-in, and opt-in twice for keep-local/block use cases."""

from __future__ import annotations

import pytest

from souverain.capture import capture_allowed
from tests.capture.helpers import use_case

ALLOW_ALL = {"personal_data": "allow", "secrets": "allow", "confidential": "allow"}


def test_disabled_by_default() -> None:
    from souverain.config.models import UseCaseConfig

    ok, reason = capture_allowed(UseCaseConfig(name="x", backends=["local"]))
    assert not ok and "capture.enabled" in reason


def test_default_policy_needs_allow_sensitive() -> None:
    ok, reason = capture_allowed(use_case(allow_sensitive=False))
    assert not ok
    for field in ("personal_data: keep-local", "secrets: block", "confidential: keep-local"):
        assert field in reason
    assert "allow_sensitive" in reason
    assert capture_allowed(use_case(allow_sensitive=True)) == (True, "")


# confidential: pseudonymize is refused at config load (tests/test_config.py)
FIELD_ACTIONS = [
    (field, action)
    for field in ("personal_data", "secrets", "confidential")
    for action in ("allow", "pseudonymize", "keep-local", "block")
    if (field, action) != ("confidential", "pseudonymize")
]


@pytest.mark.parametrize(("field", "action"), FIELD_ACTIONS)
@pytest.mark.parametrize("allow_sensitive", [False, True])
def test_matrix(field: str, action: str, allow_sensitive: bool) -> None:
    policy = {**ALLOW_ALL, field: action}
    ok, reason = capture_allowed(use_case(policy=policy, allow_sensitive=allow_sensitive))
    expected = allow_sensitive or action in ("allow", "pseudonymize")
    assert ok is expected
    assert (reason == "") is expected
    if not expected:
        assert f"{field}: {action}" in reason


def test_disabled_wins_over_allow_sensitive() -> None:
    ok, _ = capture_allowed(use_case(enabled=False, policy=ALLOW_ALL))
    assert not ok
