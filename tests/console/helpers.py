"""Builders shared by the console tests: a config with admin and non-admin keys, rows written
into the ledger, a logged-in client of the in-process app."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from souverain.ledger import Ledger, LedgerRecord
from tests.support.configs import backend, openai_upstream

ADMIN_KEY = "sk-sov-console-admin-test-key"
USER_KEY = "sk-sov-console-user-test-key"
# a port nothing listens on: the remote backend is unreachable (health: down)
DEAD = "http://127.0.0.1:9/v1"
#: the issue's data-metric names -> the fields of `souverain report --format json` (the contract,
#: written out here rather than read from the code under test)
HOOKS = {
    "requests": "requests",
    "share_on_prem": "share_self_hosted",
    "share_eu_jurisdiction": "share_eu_jurisdiction",
    "share_open_weights": "share_open_weights",
    "cost_eur": "cost_eur",
    "energy_wh": "energy_wh",
    "carbon_g": "carbon_g",
}


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def config_dict(tmp: Path, **extra: Any) -> dict[str, Any]:
    """Two use cases over a self-hosted French backend and a US API (unreachable here)."""
    data: dict[str, Any] = {
        "site": {"country": "FR"},
        "backends": [
            openai_upstream("local", DEAD),
            openai_upstream(
                "us-api",
                DEAD,
                self_hosted=False,
                operator="Example Inc.",
                operator_jurisdiction="US",
                location="IE",
                open_weights=False,
            ),
        ],
        "use_cases": [
            {
                "name": "docs",
                "backends": ["local", "us-api"],
                "policy": {"allowed_jurisdictions": ["EU"]},
            },
            {
                "name": "research",
                "backends": ["us-api", "local"],
                "policy": {"personal_data": "pseudonymize"},
            },
        ],
        "api_keys": [
            {"name": "dpo", "sha256": digest(ADMIN_KEY), "admin": True},
            {"name": "app", "sha256": digest(USER_KEY), "use_cases": ["docs"]},
        ],
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
        "bench": {"results_dir": str(tmp / "bench")},
    }
    data.update(extra)
    return data


def remote_backend(name: str, **fields: Any) -> dict[str, Any]:
    return backend(name, type="openai", base_url=DEAD, model="m", **fields)


def rows(now: datetime | None = None) -> list[LedgerRecord]:
    """A small, varied day of traffic: served on each backend, refused, failed, a row with
    unknown carbon, personal data that left the premises, a bench row (not counted)."""
    now = now or datetime.now(UTC)
    local = {
        "backend": "local",
        "operator": "ACME IT",
        "operator_jurisdiction": "FR",
        "location": "FR",
        "self_hosted": True,
        "open_weights": True,
    }
    remote = {
        "backend": "us-api",
        "operator": "Example Inc.",
        "operator_jurisdiction": "US",
        "location": "IE",
        "self_hosted": False,
        "open_weights": False,
    }

    def rec(n: int, hours_ago: float, **fields: Any) -> LedgerRecord:
        base: dict[str, Any] = {
            "request_id": f"req-console-{n:03d}",
            "ts": now - timedelta(hours=hours_ago),
            "api_key_name": "app",
            "use_case": "docs",
            "decision": "served",
            "status": "completed",
            "prompt_tokens": 20 + n,
            "completion_tokens": 8,
            "duration_ms": 100.0 + 10 * n,
            "energy_method": "estimated:cpu-time",
            "http_status": 200,
        }
        return LedgerRecord(**(base | fields))

    return [
        rec(1, 20, **local, cost_eur=0.0012, energy_wh=0.4, carbon_g=0.02),
        rec(2, 12, **local, cost_eur=0.0007, energy_wh=0.3, carbon_g=0.015),
        rec(
            3,
            6,
            use_case="research",
            **remote,
            decision="pseudonymized",
            data_types={"email": 1},
            cost_eur=0.0031,
            energy_wh=0.9,
            energy_method="estimated:parameters",
            carbon_g=None,
        ),
        rec(
            4,
            3,
            decision="refused",
            status="refused",
            error_code="no_compliant_backend",
            http_status=503,
            energy_method="unknown",
        ),
        rec(
            5,
            1,
            **local,
            status="failed",
            error_code="backend_timeout",
            http_status=504,
            cost_eur=0.0001,
            energy_wh=0.05,
        ),
        rec(6, 0.5, **local, cost_eur=0.0009, energy_wh=0.35, carbon_g=0.018),
        rec(7, 2, **local, kind="bench", cost_eur=0.5, energy_wh=5.0),
        rec(8, 30, **local, cost_eur=0.04, energy_wh=2.0, carbon_g=0.1),  # outside 24 hours
    ]


def write_rows(url: str, records: list[LedgerRecord]) -> None:
    with Ledger.open(url) as ledger:
        for r in records:
            ledger.write(r)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def login(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    form = await client.get("/ui/login")
    return await client.post(
        "/ui/login", data={"csrf": csrf_of(form.text), "key": key, "next": "/ui/"}
    )


def metrics(html: str) -> dict[str, str]:
    """The page's ``data-metric`` -> ``data-value`` hooks."""
    return dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', html))
