"""The console in a real browser (Debian's Chromium driven by Playwright) against a real
``souverain serve`` process with the embedded model: log in by keyboard, open every page, check
the figures against the ledger and ``souverain report``, tamper with a row and watch the chain
status turn broken, and check that no request leaves 127.0.0.1 and that the browser logs no error.

Screenshots of every page go to ``$SOUVERAIN_SCREENSHOTS`` (``docs/img`` for the README) or to
the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
import yaml
from typer.testing import CliRunner

from souverain.cli.main import app as cli
from souverain.ledger import Ledger, LedgerRecord
from tests.conftest import gateway_process
from tests.console.helpers import ADMIN_KEY, DEAD, HOOKS, USER_KEY, digest
from tests.support.configs import embedded, openai_upstream
from tests.support.upstream import Upstream

pytestmark = pytest.mark.slow
runner = CliRunner()
CHROMIUM = os.environ.get("SOUVERAIN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {
    "overview": "/ui/",
    "use-cases": "/ui/use-cases",
    "ledger": "/ui/ledger",
    "bench": "/ui/bench",
    "drills": "/ui/drills",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (Playwright's own browser download cannot work here)."""
    if not Path(CHROMIUM).is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: the browser tests must run)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _config(tmp: Path, eu_api: str) -> dict[str, Any]:
    return {
        "site": {"country": "FR"},
        "backends": [
            embedded("local", eur_per_hour=0.05),
            openai_upstream(
                "eu-api",
                eu_api,
                self_hosted=False,
                operator="Example EU SAS",
                open_weights=False,
                price={"input_eur_per_mtok": 0.2, "output_eur_per_mtok": 0.6},
                parameters={"total_b": 24},
            ),
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
                "description": "Sort incoming business documents.",
                "backends": ["local", "us-api"],
                "policy": {"allowed_jurisdictions": ["EU"]},
                "suite": "doc-classify",
            },
            {
                "name": "research",
                "description": "Questions from analysts; personal data pseudonymised.",
                "backends": ["eu-api", "us-api", "local"],
                "policy": {"personal_data": "pseudonymize"},
            },
        ],
        "api_keys": [
            {"name": "dpo", "sha256": digest(ADMIN_KEY), "admin": True},
            {"name": "analysts", "sha256": digest(USER_KEY)},
        ],
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
        "bench": {"results_dir": str(tmp / "bench")},
    }


def _history(now: datetime) -> list[LedgerRecord]:
    """Earlier traffic for the charts (synthetic rows, sealed into the chain like any other)."""
    local = {
        "backend": "local",
        "operator": "ACME IT",
        "operator_jurisdiction": "FR",
        "location": "FR",
        "self_hosted": True,
        "open_weights": True,
        "energy_method": "estimated:cpu-time",
    }
    eu = {
        "backend": "eu-api",
        "operator": "Example EU SAS",
        "operator_jurisdiction": "FR",
        "location": "FR",
        "self_hosted": False,
        "open_weights": False,
        "energy_method": "estimated:parameters",
    }
    out = []
    for i in range(14):
        where = local if i % 3 else eu
        out.append(
            LedgerRecord(
                request_id=f"chatcmpl-history-{i:02d}",
                ts=now - timedelta(hours=20 - i * 1.3),
                api_key_name="analysts",
                use_case="docs" if where is local else "research",
                decision="served",
                status="completed",
                prompt_tokens=40 + i,
                completion_tokens=12,
                duration_ms=300.0 + 20 * i,
                cost_eur=0.00002 * (i + 1),
                energy_wh=0.02 * (1 + i % 4),
                energy_wh_low=0.01 * (1 + i % 4),
                energy_wh_high=0.03 * (1 + i % 4),
                carbon_g=0.001 * (1 + i % 4),
                grid_gco2_per_kwh=44.0,
                http_status=200,
                **where,
            )
        )
    return out


@dataclass
class Site:
    base: str
    tmp: Path
    config: Path
    ledger: Path
    requests: dict[str, str] = field(default_factory=dict)  # what -> request id


def _invoke(args: list[str], code: int = 0) -> Any:
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("console-site")
    data = tmp / "data"
    old = os.environ.get("SOUVERAIN_DATA_DIR")
    os.environ["SOUVERAIN_DATA_DIR"] = str(data)  # the CLI runs below and the server share it
    try:
        with Upstream() as eu_api:
            config = tmp / "souverain.yaml"
            config.write_text(yaml.safe_dump(_config(tmp, eu_api.base_url), sort_keys=False))
            bench = ["bench", "--suite", "doc-classify", "--use-case", "docs", "--limit", "3"]
            _invoke([*bench, "--config", str(config)])
            # docs loses its only compliant backend: a no-exit verdict, exit code 1
            _invoke(["drill", "exit", "--plan", "--without-backend", "local", "-c", str(config)], 1)
            with Ledger.open(str(tmp / "ledger.db")) as ledger:
                for rec in _history(datetime.now(UTC)):
                    ledger.write(rec)
            with gateway_process(
                config, env={"SOUVERAIN_DATA_DIR": str(data)}, ready=("local", "eu-api")
            ) as base:
                s = Site(base, tmp, config, tmp / "ledger.db")
                client = openai.OpenAI(base_url=base + "/v1", api_key=USER_KEY, max_retries=0)
                ask = {"max_tokens": 4, "temperature": 0}
                s.requests["local"] = client.chat.completions.create(
                    model="docs", messages=[{"role": "user", "content": "Invoice no. 7"}], **ask
                ).id
                s.requests["pseudonymized"] = client.chat.completions.create(
                    model="research",
                    messages=[{"role": "user", "content": "Write to jeanne.martin@exemple.fr"}],
                    **ask,
                ).id
                with pytest.raises(openai.PermissionDeniedError):
                    client.chat.completions.create(
                        model="docs",
                        messages=[{"role": "user", "content": "key AKIAIOSFODNN7EXAMPLE"}],
                        **ask,
                    )
                yield s
    finally:
        if old is None:
            os.environ.pop("SOUVERAIN_DATA_DIR", None)
        else:
            os.environ["SOUVERAIN_DATA_DIR"] = old


class Watch:
    """Every request the page makes (anything not on 127.0.0.1 is blocked and recorded) and
    every console error or uncaught exception."""

    def __init__(self, context: Any) -> None:
        self.urls: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.urls.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)
            route.abort()
        else:
            route.continue_()

    def page(self, context: Any) -> Any:
        page = context.new_page()
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        return page


def _hooks(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "[data-metric]",
        "els => Object.fromEntries(els.map(e => [e.dataset.metric, e.dataset.value]))",
    )


def _check_plain(page: Any, width: int) -> None:
    """Every form control labelled, and no sideways scrolling of the page at this width."""
    unlabelled = page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea",
        "els => els.filter(e => !e.labels || !e.labels.length).map(e => e.name)",
    )
    assert unlabelled == [], f"{page.url}: controls without a label: {unlabelled}"
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{page.url}: {overflow}px wide at a {width}px viewport"


def _shots_dir(tmp: Path) -> Path:
    target = Path(os.environ.get("SOUVERAIN_SCREENSHOTS") or tmp / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _sql(path: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchall()


def test_console_in_a_browser(site: Site, browser: Any) -> None:
    # (site first: its CLI runs use asyncio.run, which cannot start inside Playwright's loop)
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = Watch(context)
    page = watch.page(context)
    shots = _shots_dir(site.tmp)

    # -- log in, by keyboard: a non-admin key is refused with a message, the admin key opens it
    page.goto(site.base + "/ui/")
    assert page.url.startswith(site.base + "/ui/login")
    assert page.evaluate("document.activeElement.id") == "key"
    page.keyboard.type(USER_KEY)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "not an admin key" in page.inner_text("[role=alert]")
    page.screenshot(path=str(shots / "console-login.png"))
    page.fill("#key", ADMIN_KEY)
    page.keyboard.press("Enter")
    page.wait_for_url(site.base + "/ui/")

    # -- the overview's figures: the ledger's rows, and what souverain report says
    since = (datetime.now(UTC) - timedelta(hours=24)).isoformat(timespec="seconds")
    until = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")
    page.goto(f"{site.base}/ui/?since={since}&until={until}".replace("+", "%2B"))
    hooks = _hooks(page)
    report = runner.invoke(
        cli,
        ["report", "--since", since, "--until", until, "--format", "json", "-c", str(site.config)],
    )
    assert report.exit_code == 0, report.output
    total = json.loads(report.output)[0]
    assert hooks == {m: "" if total[f] is None else json.dumps(total[f]) for m, f in HOOKS.items()}
    (count, cost, sent, local) = _sql(
        site.ledger,
        "SELECT count(*), sum(coalesce(cost_eur, 0)), "
        "sum(decision IN ('served', 'pseudonymized') AND status != 'refused'), "
        "sum(decision IN ('served', 'pseudonymized') AND status != 'refused' AND self_hosted) "
        "FROM ledger WHERE kind = 'request' AND status != 'pending' AND ts >= ?",
        since.replace("T", " ").replace("+00:00", ""),
    )[0]
    assert int(hooks["requests"]) == count == 14 + 3  # the history and the three requests
    assert float(hooks["cost_eur"]) == pytest.approx(cost, abs=1e-6)
    assert float(hooks["share_on_prem"]) == pytest.approx(local / sent, abs=1e-4)
    page.goto(site.base + "/ui/")  # the default period, the last 24 hours: the same rows
    assert _hooks(page)["requests"] == hooks["requests"]
    assert "estimated:cpu-time" in page.inner_text("section[aria-labelledby=methods]")
    _check_plain(page, 1280)
    page.screenshot(path=str(shots / "console-overview.png"), full_page=True)

    # -- every page through the nav, by keyboard
    page.focus("body")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Use cases":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == site.base + "/ui/use-cases"
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/ui/use-cases"
    docs = page.inner_text("#uc-docs")
    assert "operator 'Example Inc.' is under US law" in docs and "✗ down" in docs
    research = page.inner_text("#uc-research")
    assert "✓ up" in research and "placeholders" in research
    for name, path in PAGES.items():
        page.goto(site.base + path)
        assert page.get_attribute("nav a[aria-current=page]", "href") == path
        _check_plain(page, 1280)
        if name != "overview":
            page.screenshot(path=str(shots / f"console-{name}.png"), full_page=True)

    # -- the ledger: search a request by id; the chain is intact
    page.goto(site.base + "/ui/ledger")
    assert page.get_attribute("[data-chain]", "data-chain") == "ok"
    page.fill("#f-request", site.requests["pseudonymized"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    found = page.eval_on_selector_all(
        "[data-request-id]", "els => els.map(e => e.dataset.requestId)"
    )
    assert found == [site.requests["pseudonymized"]]
    assert "pseudonymized" in page.inner_text("table.rows") and "email" in page.inner_text(
        "table.rows"
    )

    # -- bench: the flip-the-metric chart, and the toggle
    page.goto(site.base + "/ui/bench?metric=cost")
    assert page.locator("#bench-docs svg circle").count() == 1
    with page.expect_navigation():
        page.get_by_role("link", name="Speed", exact=True).click()
    assert page.get_attribute(".toggle a[aria-current=true]", "href") == "/ui/bench?metric=speed"
    assert "us-api" in page.inner_text("#bench-docs") and "excluded" in page.inner_text(
        "#bench-docs"
    )

    # -- exit drills: losing 'local' leaves docs without an exit, research unaffected
    page.goto(site.base + "/ui/drills")
    assert page.get_attribute("tr[data-use-case=docs]", "data-verdict") == "no-exit"
    assert page.get_attribute("tr[data-use-case=research]", "data-verdict") == "ready"
    assert "no compliant backend" in page.inner_text("tr[data-use-case=docs]").lower()

    # -- a phone: every page holds at 390 px
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    phone_watch = Watch(phone)
    small = phone_watch.page(phone)
    for name, path in PAGES.items():
        small.goto(site.base + path)
        assert small.url == site.base + path
        _check_plain(small, 390)
        if name == "overview":
            small.screenshot(path=str(shots / "console-overview-phone.png"), full_page=True)
    phone.close()

    # -- tamper with a row: the chain status turns broken
    _sql(site.ledger, "UPDATE ledger SET cost_eur = 0.5 WHERE seq = 2")
    page.goto(site.base + "/ui/ledger")
    page.get_by_role("button", name="Verify the chain now").click()
    page.wait_for_url("**/ui/ledger?**")
    assert page.get_attribute("[data-chain]", "data-chain") == "broken"
    assert "edited: seq 2" in page.inner_text("[data-chain]")

    # -- log out: the pages are closed again
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/ui/login?m=logged_out")
    page.goto(site.base + "/ui/ledger")
    assert page.url.startswith(site.base + "/ui/login")

    context.close()
    assert watch.outside == [] and phone_watch.outside == []
    hosts = {urlsplit(u).hostname for u in watch.urls + phone_watch.urls}
    assert hosts == {"127.0.0.1"}
    assert any(u.endswith("/ui/static/console.css") for u in watch.urls)
    assert watch.errors == [] and phone_watch.errors == []
    assert time.monotonic() - started < 120


def test_gateway_serves_the_console_assets_with_their_licence(site: Site) -> None:
    css = httpx.get(site.base + "/ui/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text  # nothing fetched by the CSS
    from importlib.resources import files

    assert "Apache" in (files("souverain.console") / "static" / "LICENSE").read_text()
