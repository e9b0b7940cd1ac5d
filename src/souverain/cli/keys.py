"""``souverain keys create|list|revoke|rotate``: runtime API keys in the ledger database.

Every gateway replica on that database sees a change within about a second (no restart). Keys in
the config file (``keys new`` prints one) keep working alongside. See docs/config.md, "Runtime
keys".
"""

from __future__ import annotations

import enum
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="The YAML config file `serve` uses (its ledger.url holds the keys; its use cases "
        "are checked). Default: $SOUVERAIN_CONFIG, else the built-in config.",
    ),
]


class Format(enum.StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", case_sensitive=False, help="Output format.")]
NameArg = Annotated[str, typer.Argument(help="The key's name (shown in the ledger and reports).")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _config(path: Path | None) -> Any:
    from souverain.config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if not cfg.ledger.enabled:
        raise _fail("runtime keys live in the ledger database, and ledger.enabled is false")
    return cfg


def _store(cfg: Any) -> Any:
    from souverain.ledger.keys import KeyStore, KeyStoreError

    try:
        return KeyStore.open(cfg.ledger.url)
    except KeyStoreError as exc:
        raise _fail(str(exc), 3) from None


def parse_expiry(value: str | None, now: datetime | None = None) -> datetime | None:
    """``--expires``: an ISO date (midnight UTC that day) or datetime (UTC when no zone), or a
    span from now (``30d``, ``12h``). Must lie in the future."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    text = value.strip()
    span = re.fullmatch(r"(\d+)([dh])", text)
    if span:
        unit = "days" if span.group(2) == "d" else "hours"
        when = now + timedelta(**{unit: int(span.group(1))})
    else:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(
                f"{value!r}: use a date (2027-01-31), a UTC datetime (2027-01-31T18:00) or a "
                "span from now (30d, 12h)",
                param_hint="--expires",
            ) from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when <= now:
        raise typer.BadParameter(f"{value!r} is not in the future", param_hint="--expires")
    return when


def keys_create(
    name: NameArg,
    use_case: Annotated[
        list[str],
        typer.Option(
            "--use-case", "-u", help="Use case the key may call (repeat; '*' for every one)."
        ),
    ],
    rpm: Annotated[
        int | None,
        typer.Option("--rpm", min=1, help="Requests per minute (sliding window, every replica)."),
    ] = None,
    tpm: Annotated[
        int | None,
        typer.Option(
            "--tpm", min=1, help="Tokens per minute, prompt + completion (sliding window)."
        ),
    ] = None,
    budget_eur: Annotated[
        float | None,
        typer.Option(
            "--budget-eur",
            min=0,
            help="Monthly budget in EUR (UTC calendar month), summed from the shared ledger "
            "across every replica.",
        ),
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="The key also opens the web console at /ui/.")
    ] = False,
    expires: Annotated[
        str | None,
        typer.Option(help="When the key stops working: 2027-01-31, 2027-01-31T18:00, 30d, 12h."),
    ] = None,
    fmt: FormatOpt = Format.text,
    config: ConfigOpt = None,
) -> None:
    """Create a runtime key in the ledger database; prints its secret once."""
    from souverain.config.models import NAME_PATTERN
    from souverain.ledger.keys import KeyStoreError

    if not re.fullmatch(NAME_PATTERN, name):
        raise _fail(
            f"invalid key name {name!r}: letters, digits, '.', '_', ':' or '-', starting with a "
            "letter or digit, at most 64 characters"
        )
    expires_at = parse_expiry(expires)
    cfg = _config(config)
    unknown = [u for u in use_case if u != "*" and u not in cfg.use_case_names]
    if unknown:
        raise _fail(
            f"unknown use case(s) {', '.join(unknown)}; the config has: "
            f"{', '.join(cfg.use_case_names)}"
        )
    if any(k.name == name for k in cfg.api_keys):
        raise _fail(f"the config file has a key named {name!r} already (api_keys)")
    store = _store(cfg)
    try:
        secret = store.create(
            name,
            use_case,
            admin=admin,
            rpm=rpm,
            tpm=tpm,
            budget_eur_month=budget_eur,
            expires_at=expires_at,
        )
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    _show_secret(name, secret, fmt, f"Runtime key {name!r} created (shown once, store it now):")


def keys_list(fmt: FormatOpt = Format.text, config: ConfigOpt = None) -> None:
    """List the runtime keys (never a secret or its hash)."""
    store = _store(_config(config))
    try:
        keys = store.all_keys()
    finally:
        store.close()
    now = datetime.now(UTC)
    rows = [k.public(now) for k in keys]
    if fmt is Format.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        err.print("No runtime keys (create one with 'souverain keys create NAME --use-case U').")
        return
    t = Table(title="Runtime keys", title_justify="left")
    for col in (
        "name",
        "status",
        "use cases",
        "admin",
        "rpm",
        "tpm",
        "budget EUR/month",
        "expires",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["name"],
            r["status"],
            ", ".join(r["use_cases"]),
            "yes" if r["admin"] else "no",
            str(r["rpm"] or "-"),
            str(r["tpm"] or "-"),
            "-" if r["budget_eur_month"] is None else f"{r['budget_eur_month']:g}",
            r["expires_at"] or "-",
        )
    Console().print(t)


def keys_revoke(name: NameArg, config: ConfigOpt = None) -> None:
    """Revoke a runtime key: it stops working on every replica within seconds."""
    from souverain.ledger.keys import KeyStoreError

    store = _store(_config(config))
    try:
        store.revoke(name)
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    err.print(f"Runtime key {name!r} revoked.")


def keys_rotate(
    name: NameArg,
    grace_minutes: Annotated[
        float,
        typer.Option(
            min=0,
            help="How long the current secret keeps working next to the new one (0: not at all).",
        ),
    ] = 60.0,
    fmt: FormatOpt = Format.text,
    config: ConfigOpt = None,
) -> None:
    """Give a runtime key a new secret (printed once); the old one works for --grace-minutes."""
    from souverain.ledger.keys import KeyStoreError

    store = _store(_config(config))
    try:
        secret = store.rotate(name, grace=timedelta(minutes=grace_minutes))
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    _show_secret(
        name,
        secret,
        fmt,
        f"Runtime key {name!r} rotated; the previous secret works for {grace_minutes:g} more "
        "minute(s). The new secret (shown once):",
    )


def register(keys_app: typer.Typer) -> None:
    keys_app.command("create")(keys_create)
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
    keys_app.command("rotate")(keys_rotate)


def _show_secret(name: str, secret: str, fmt: Format, message: str) -> None:
    """Print a new secret once: ``{"name", "key"}`` as JSON, or the message (stderr) then the
    secret alone on stdout (so that ``$(souverain keys ...)`` captures only the secret)."""
    if fmt is Format.json:
        print(json.dumps({"name": name, "key": secret}))
        return
    err.print(message)
    print(secret)
