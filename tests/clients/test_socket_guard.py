"""The matrix's socket guard refuses and records what leaves loopback, and lets loopback
through (else a library that phones home would pass unnoticed, or no test could run)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.netguard import loopback_only
from tests.support.upstream import Upstream


def test_guard_refuses_beyond_loopback_and_lets_loopback_through() -> None:
    with Upstream() as up, loopback_only() as attempts:
        assert httpx.get(up.base_url + "/models").status_code == 200
        assert attempts == []
        with pytest.raises(httpx.ConnectError, match="socket guard"):
            httpx.get("http://api.example.invalid/v1/models")  # refused before any look-up
    assert attempts == ["api.example.invalid"]
