"""Who opens the console: admin keys only, sessions that end, CSRF on every state change, and
nothing of the console's data without a session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from souverain.api.app import create_app
from souverain.config import parse_config
from souverain.console.access import LOGIN_COOKIE, SESSION_COOKIE
from tests.console.helpers import (
    ADMIN_KEY,
    USER_KEY,
    config_dict,
    csrf_of,
    digest,
    login,
    rows,
    write_rows,
)

PAGES = ["/ui/", "/ui/use-cases", "/ui/ledger", "/ui/bench", "/ui/drills"]


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]+)', html)
    return found.group(1) if found else ""


def console_routes() -> list[tuple[str, str]]:
    from souverain.console.routes import router

    return [(m, r.path) for r in router.routes for m in sorted(r.methods - {"HEAD"})]


async def test_every_console_route_needs_a_session(gateway: Any, client: httpx.AsyncClient) -> None:
    write_rows(str(gateway.state.runtime.config.ledger.url), rows())
    routes = console_routes()
    assert {p for _, p in routes} >= {*PAGES, "/ui/ledger/export", "/ui/ledger/verify"}
    public = {"/ui", "/ui/login", "/ui/static/{name}"}
    for method, path in routes:
        if path in public:
            continue
        url = path.replace("{name}", "x")
        resp = await client.request(method, url + "?format=jsonl")
        if method == "GET":
            assert resp.status_code == 303, (method, path)
            assert resp.headers["location"].startswith("/ui/login?next=")
        else:
            assert resp.status_code == 403, (method, path)
        assert "req-console" not in resp.text and "data-metric" not in resp.text


async def test_admin_key_opens_a_session_with_safe_cookies(client: httpx.AsyncClient) -> None:
    resp = await login(client)
    assert resp.status_code == 303 and resp.headers["location"] == "/ui/"
    cookie = next(c for c in resp.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert "secure" not in flags  # plain HTTP here; see the TLS test
    assert ADMIN_KEY not in cookie
    page = await client.get("/ui/")
    assert page.status_code == 200 and 'data-metric="requests"' in page.text
    assert "Signed in as <strong>dpo</strong>" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script at all
    assert page.headers["x-frame-options"] == "DENY"


async def test_non_admin_and_unknown_keys_are_refused_clearly(client: httpx.AsyncClient) -> None:
    resp = await login(client, USER_KEY)
    # the form again, with the reason (200: a 4xx page would be a console error in a browser)
    assert resp.status_code == 200 and 'type="password"' in resp.text
    assert "not an admin key" in alert(resp.text)
    set_cookies = [c.split("=")[0] for c in resp.headers.get_list("set-cookie")]
    assert SESSION_COOKIE not in set_cookies
    resp = await login(client, "sk-sov-nobody")
    assert resp.status_code == 200 and "not known" in alert(resp.text)
    assert (await client.get("/ui/")).status_code == 303


async def test_no_admin_key_configured_says_what_to_do(tmp_path: Path) -> None:
    data = config_dict(tmp_path)
    data["api_keys"] = [k | {"admin": False} for k in data["api_keys"]]
    app = create_app(parse_config(data))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        form = await c.get("/ui/login")
        assert "No admin key is configured" in form.text
        resp = await login(c, ADMIN_KEY)
        assert resp.status_code == 200 and "admin: true" in alert(resp.text)
        assert (await c.get("/ui/")).status_code == 303


async def test_login_needs_its_form_token(client: httpx.AsyncClient) -> None:
    await client.get("/ui/login")
    resp = await client.post("/ui/login", data={"key": ADMIN_KEY, "csrf": "forged"})
    assert "expired" in alert(resp.text)
    form = await client.get("/ui/login")
    client.cookies.delete(LOGIN_COOKIE, path="/ui")  # a cross-site post carries no cookie
    resp = await client.post("/ui/login", data={"key": ADMIN_KEY, "csrf": csrf_of(form.text)})
    assert "expired" in alert(resp.text)
    assert SESSION_COOKIE not in [c.split("=")[0] for c in resp.headers.get_list("set-cookie")]
    assert (await client.get("/ui/")).status_code == 303


async def test_state_changes_need_the_csrf_token_and_our_origin(client: httpx.AsyncClient) -> None:
    await login(client)
    token = csrf_of((await client.get("/ui/ledger")).text)
    for path in ("/ui/ledger/verify", "/ui/logout"):
        assert (await client.post(path, data={})).status_code == 403
        assert (await client.post(path, data={"csrf": "x" * 64})).status_code == 403
        resp = await client.post(
            path, data={"csrf": token}, headers={"origin": "https://evil.example"}
        )
        assert resp.status_code == 403
    assert (await client.get("/ui/")).status_code == 200  # still logged in
    resp = await client.post("/ui/ledger/verify", data={"csrf": token})
    assert resp.status_code == 303 and resp.headers["location"].startswith("/ui/ledger")


async def test_logout_ends_the_session_even_for_a_copied_cookie(
    client: httpx.AsyncClient, gateway: Any
) -> None:
    await login(client)
    copied = client.cookies.get(SESSION_COOKIE, path="/ui")
    token = csrf_of((await client.get("/ui/")).text)
    resp = await client.post("/ui/logout", data={"csrf": token})
    assert resp.status_code == 303 and resp.headers["location"] == "/ui/login?m=logged_out"
    assert (await client.get("/ui/")).status_code == 303
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway),
        base_url="http://gw",
        cookies={SESSION_COOKIE: copied},
    ) as thief:
        assert (await thief.get("/ui/ledger")).status_code == 303


async def test_sessions_expire_when_idle_and_after_their_lifetime(
    client: httpx.AsyncClient, gateway: Any
) -> None:
    auth = gateway.state.console.auth
    now = [1_800_000_000.0]
    auth.clock = lambda: now[0]
    await login(client)
    for _ in range(4):  # active use moves the idle timeout on
        now[0] += auth.idle_s * 0.9
        assert (await client.get("/ui/")).status_code == 200
    now[0] += auth.idle_s + 1
    resp = await client.get("/ui/")
    assert resp.status_code == 303 and "m=expired" in resp.headers["location"]
    await login(client)
    steps = int(auth.session_s // (auth.idle_s * 0.9)) + 1
    for _ in range(steps):
        now[0] += auth.idle_s * 0.9
        last = await client.get("/ui/")
    assert last.status_code == 303, "a session must end after session_hours, however active"


async def test_a_tampered_or_foreign_cookie_opens_nothing(client: httpx.AsyncClient) -> None:
    await login(client)
    value = client.cookies.get(SESSION_COOKIE, path="/ui")
    body, _, mac = value.partition(".")
    client.cookies.set(SESSION_COOKIE, body + "." + "0" * len(mac), path="/ui")
    assert (await client.get("/ui/")).status_code == 303


async def test_a_removed_admin_key_ends_its_sessions(tmp_path: Path) -> None:
    app = create_app(parse_config(config_dict(tmp_path)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        await login(c)
        assert (await c.get("/ui/drills")).status_code == 200
        keyring = app.state.keyring
        keyring._by_hash.pop(digest(ADMIN_KEY))  # what revoking a runtime key will do
        assert (await c.get("/ui/drills")).status_code == 303


async def test_cookie_is_secure_behind_tls(gateway: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="https://gw"
    ) as c:
        resp = await login(c)
        cookie = next(
            x for x in resp.headers.get_list("set-cookie") if x.startswith(SESSION_COOKIE)
        )
        assert "secure" in cookie.lower()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui/", "/v1/models", "/ui\\..\\x"]
)
async def test_login_only_goes_back_into_the_console(
    client: httpx.AsyncClient, target: str
) -> None:
    form = await client.get("/ui/login")
    resp = await client.post(
        "/ui/login", data={"csrf": csrf_of(form.text), "key": ADMIN_KEY, "next": target}
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/ui/"


async def test_the_console_can_be_switched_off(tmp_path: Path) -> None:
    app = create_app(parse_config(config_dict(tmp_path, console={"enabled": False})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        assert (await c.get("/ui/login")).status_code == 404


async def test_behind_a_proxy_the_forwarded_host_is_our_origin(client: httpx.AsyncClient) -> None:
    await login(client)
    token = csrf_of((await client.get("/ui/ledger")).text)
    proxied = {"origin": "https://console.example.org", "x-forwarded-host": "console.example.org"}
    resp = await client.post("/ui/ledger/verify", data={"csrf": token}, headers=proxied)
    assert resp.status_code == 303
    elsewhere = {"origin": "https://evil.example", "x-forwarded-host": "console.example.org"}
    resp = await client.post("/ui/ledger/verify", data={"csrf": token}, headers=elsewhere)
    assert resp.status_code == 403


async def test_workers_sharing_the_secret_share_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve --workers N puts one secret in $SOUVERAIN_CONSOLE_SECRET for every worker: a login
    on one is valid on another; without it each process has its own."""
    from souverain.console.access import SECRET_ENV

    def worker() -> Any:
        return create_app(parse_config(config_dict(tmp_path)))

    monkeypatch.setenv(SECRET_ENV, "one secret for every worker")
    first, second = worker(), worker()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first), base_url="http://gw"
    ) as c:
        await login(c)
        cookie = c.cookies.get(SESSION_COOKIE, path="/ui")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second),
        base_url="http://gw",
        cookies={SESSION_COOKIE: cookie},
    ) as other:
        assert (await other.get("/ui/drills")).status_code == 200
    monkeypatch.delenv(SECRET_ENV)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=worker()),
        base_url="http://gw",
        cookies={SESSION_COOKIE: cookie},
    ) as stranger:
        assert (await stranger.get("/ui/drills")).status_code == 303


def test_keys_new_admin_prints_a_config_entry_that_opens_the_console(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from souverain.api.auth import KeyRing, hash_key
    from souverain.cli.main import app as cli

    result = CliRunner().invoke(cli, ["keys", "new", "dpo", "--admin"])
    assert result.exit_code == 0, result.output
    key = next(line for line in result.output.splitlines() if line.startswith("sk-sov-"))
    entry = result.output[result.output.index("  - name: dpo") :]
    data = config_dict(tmp_path)
    data["api_keys"] = yaml.safe_load(entry)
    keyring = KeyRing(parse_config(data).api_keys)
    principal = keyring.by_digest(hash_key(key))
    assert principal is not None and principal.admin
    plain = CliRunner().invoke(cli, ["keys", "new", "app"])
    assert "admin" not in plain.output
