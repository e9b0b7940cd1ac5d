"""The ``souverain`` command."""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from souverain import __version__
from souverain.cli.common import ConfigOpt, load_or_exit, prepare_models
from souverain.cli.output import (
    CHECK_FAILED,
    INTERNAL,
    INTERRUPTED,
    MODEL,
    err,
    error,
    print_fitting,
)

app = typer.Typer(
    name="souverain",
    help="A self-hosted, OpenAI-compatible sovereign AI gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    help="API keys for clients: runtime keys in the ledger database (create, list, revoke, "
    "rotate; every replica sees a change within seconds), or config-file keys (new).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


class LogLevel(enum.StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: server.port, 8000).")
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per HTTP request (never the prompt).")
    ] = False,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Log level.")
    ] = LogLevel.info,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (each loads its own models). With more than one, share a "
            "PostgreSQL ledger for budgets; /metrics aggregates every worker.",
        ),
    ] = 1,
) -> None:
    """Start the OpenAI-compatible gateway (with no config: the embedded Gemma 3 270M)."""
    import uvicorn

    from souverain.api.app import create_app
    from souverain.cli import preflight

    cfg = load_or_exit(config)
    bind_host = host or cfg.server.host
    bind_port = cfg.server.port if port is None else port
    model_problems = preflight.model_problems(cfg)
    if model_problems:  # before a port is bound: a model that cannot load is never "starting"
        for problem in model_problems:
            error(f"{problem}")
        raise typer.Exit(MODEL)
    _print_start(cfg, config)
    prepare_models(cfg)  # the first start's model cache write, with a progress bar
    ledger = None
    if cfg.ledger.enabled:  # fail here with one clear line, not in the server's start-up
        from souverain.ledger import Ledger, LedgerError

        try:
            ledger = Ledger.open(cfg.ledger.url)
        except LedgerError as exc:
            error(f"the ledger cannot be opened: {exc}")
            raise typer.Exit(3) from None
    if cfg.ledger.enabled and cfg.ledger.checkpoints is not None:
        from souverain.ledger.checkpoint import CheckpointError, load_key

        try:
            load_key(cfg.ledger.checkpoints.key_file)
        except CheckpointError as exc:
            err.print(f"[red]error:[/red] ledger.checkpoints: {exc}", highlight=False)
            raise typer.Exit(2) from None
    if not cfg.api_keys and not _is_loopback(bind_host) and not _runtime_keys_exist(ledger):
        if ledger is not None:
            ledger.close()
        error(
            f"refusing to listen on {bind_host}: no api_keys are configured, so "
            "anyone who can reach this address could use every use case.\n"
            "Fix: create a key with 'souverain keys create NAME --use-case U' (stored in the "
            "ledger database), or with 'souverain keys new NAME' and add the printed lines under "
            "'api_keys:' in your config, and start again (or bind to 127.0.0.1)."
        )
        raise typer.Exit(2)
    logging.basicConfig(
        level=log_level.value.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers > 1 and not (cfg.limits.redis_url or cfg.limits.redis_url_env):
        err.print(
            "[yellow]warning:[/yellow] rate limits are counted in each worker process on its own "
            "(set limits.redis_url to share them)",
            highlight=False,
        )
    failed_loads: dict[str, str] = {}
    server: Any = None

    def on_load_failure(failed: dict[str, str]) -> None:
        failed_loads.update(failed)
        for name, why in failed.items():
            error(
                f"backend {name}: the model cannot be loaded: {why}; fix the backend's model "
                "(souverain check-config names the problem) and start again"
            )
        if server is not None:
            server.should_exit = True

    target: Any = (
        create_app(cfg, ledger=ledger, on_load_failure=on_load_failure, server_process=True)
        if workers == 1
        else None
    )
    if workers > 1:
        if ledger is not None:
            ledger.close()  # each worker opens its own
        import tempfile

        # every worker rebuilds the app from the same file; metrics go through shared files
        if config is not None:
            os.environ["SOUVERAIN_CONFIG"] = str(Path(config).resolve())
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="souverain-metrics-")
        )
        # one console session secret for every worker (a login on one is valid on the others)
        from souverain.console.access import SECRET_ENV

        if not os.environ.get(SECRET_ENV):
            import secrets

            os.environ[SECRET_ENV] = secrets.token_urlsafe(32)
        target = "souverain.api.app:app_from_environment"
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "loop": "auto",
        "http": "auto",
        "access_log": access_log,
        "log_level": log_level.value,
    }
    if workers == 1:
        from souverain.api.drain import DrainingServer

        # SIGTERM drains first (readyz 503, new requests refused, streams finish up to
        # server.drain_s), then the sockets close; 5 s more for the last bytes
        server = DrainingServer(
            uvicorn.Config(target, timeout_graceful_shutdown=5, **options), target.state.drain
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if failed_loads:
            raise typer.Exit(MODEL)
        if not server.started:
            raise typer.Exit(3)  # start-up failed (logged above), as uvicorn.run exits
        return
    # several workers: uvicorn's own shutdown, with server.drain_s for the requests in flight
    uvicorn.run(
        target,
        factory=True,
        workers=workers,
        timeout_graceful_shutdown=max(1, round(cfg.server.drain_s)),
        **options,
    )


def _print_start(cfg: Any, config: Path | None) -> None:
    """What ``serve`` uses, said before it starts: the config, the ledger, the models."""
    from souverain.cli import preflight

    if cfg.ledger.enabled:
        from souverain.ledger.engine import display_url, normalise_url

        ledger = display_url(normalise_url(cfg.ledger.url))
    else:
        ledger = "disabled (ledger.enabled: false): no request is recorded"
    lines = [f"config: {_config_source(config)}", f"ledger: {ledger}"]
    lines += preflight.model_loads(cfg)
    for line in lines:
        err.print(f"souverain: {line}", highlight=False, markup=False)


def _runtime_keys_exist(ledger: Any) -> bool:
    """Whether the ledger database holds runtime keys (then every request needs a key)."""
    if ledger is None:
        return False
    from souverain.ledger.keys import KeyStore

    return KeyStore(ledger.engine, ledger.read_engine).fingerprint()[0] > 0


@app.command("check-config")
def check_config(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="The YAML config file to check (default: --config, $SOUVERAIN_CONFIG, else the "
            "built-in default)."
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Validate a config and check what `serve` would trip on here (model files, key variables,
    keys that can never match, the ledger's driver). Exit 0: valid and usable; 1: valid but
    something would not work here (each problem named); 2: invalid (every bad field named)."""
    from souverain.backends.base import BackendMetadata
    from souverain.cli import preflight
    from souverain.policy.rules import static_exclusion

    source = file or config
    cfg = load_or_exit(source)
    problems = preflight.problems(cfg)
    where = _config_source(source)
    out = Console()
    if problems:
        out.print(
            f"✗ {where} is valid, but cannot work here as it is:", highlight=False, soft_wrap=True
        )
    else:
        out.print(f"[green]✓[/green] {where} is valid", highlight=False, soft_wrap=True)
    print_fitting(
        out,
        "Backends",
        ["name", "type", "model", "operator", "jurisdiction", "location", "self-hosted",
         "open weights"],
        [
            [b.name, b.type, str(b.model), b.operator, b.operator_jurisdiction, b.location,
             "yes" if b.self_hosted else "no", "yes" if b.open_weights else "no"]
            for b in cfg.backends
        ],
    )  # fmt: skip
    rows = []
    for uc in cfg.use_cases:
        allowed: list[str] = []
        excluded: list[str] = []
        for name in uc.backends:
            rule = static_exclusion(uc.policy, BackendMetadata.from_config(cfg.backend(name)))
            (excluded if rule else allowed).append(f"{name} ({rule[1]})" if rule else name)
        rows.append(
            [
                uc.name,
                ", ".join(allowed),
                "\n".join(excluded) or "-",
                uc.policy.personal_data,
                uc.policy.secrets,
                uc.policy.confidential,
            ]
        )
    print_fitting(
        out,
        "Use cases",
        ["name", "candidates (in order)", "statically excluded", "personal data", "secrets",
         "confidential"],
        rows,
    )  # fmt: skip
    if cfg.api_keys:
        out.print(
            "API keys: " + ", ".join(f"{k.name} → {', '.join(k.use_cases)}" for k in cfg.api_keys)
        )
    else:
        out.print("API keys: none (the gateway will only listen on a loopback address)")
    from souverain.limits.limiter import where_counted

    limited = [f"{u.name} ({_rates(u.limits)})" for u in cfg.use_cases if u.limits] + [
        f"key {k.name} ({_rates(k.limits)})" for k in cfg.api_keys if k.limits
    ]
    out.print(
        f"Rate limits: counted {where_counted(cfg)}; "
        + (", ".join(limited) if limited else "none in this file")
        + " (runtime keys: keys create --rpm/--tpm)",
        highlight=False,
    )
    for warning in preflight.warnings(cfg):
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for problem in problems:
        error(str(problem))
    if problems:
        raise typer.Exit(CHECK_FAILED)


def _config_source(path: Path | None) -> str:
    """Which config a command reads, in words."""
    if path is not None:
        return str(path)
    env = os.environ.get("SOUVERAIN_CONFIG")
    if env:
        return f"{env} (from $SOUVERAIN_CONFIG)"
    return "the built-in default config (no FILE, no --config, $SOUVERAIN_CONFIG unset)"


def _rates(limits: Any) -> str:
    parts = [f"{limits.rpm} rpm" if limits.rpm else "", f"{limits.tpm} tpm" if limits.tpm else ""]
    return ", ".join(p for p in parts if p) or "no limit"


@keys_app.command("new")
def keys_new(
    name: Annotated[
        str, typer.Argument(help="A name for the key (shown in the ledger and reports).")
    ],
    use_case: Annotated[
        list[str] | None,
        typer.Option("--use-case", "-u", help="Use case this key may call (repeat; default: all)."),
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="The key also opens the web console at /ui/.")
    ] = False,
) -> None:
    """Create a new API key: prints the key once, and the config lines with its SHA-256."""
    import re

    from souverain.api.auth import hash_key, new_key
    from souverain.config.models import NAME_PATTERN

    if not re.fullmatch(NAME_PATTERN, name):
        error(
            f"invalid key name {name!r}: letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit, at most 64 characters"
        )
        raise typer.Exit(2)
    key = new_key()
    ucs = use_case or ["*"]
    out = Console()
    out.print("New API key (shown once, store it now):", highlight=False)
    print(key)
    out.print("\nAdd under 'api_keys:' in your config:", highlight=False)
    print(
        f"  - name: {name}\n    sha256: {hash_key(key)}\n    use_cases: [{', '.join(repr(u) if u == '*' else u for u in ucs)}]"
        + ("\n    admin: true" if admin else "")
    )


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def _version_flag(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_flag, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A self-hosted, OpenAI-compatible sovereign AI gateway."""


def _register_concerns() -> None:
    """Commands that live with their concern (detection, ledger, reports)."""
    from souverain.cli.bench import advise_command, bench_command
    from souverain.cli.capture import capture_app
    from souverain.cli.drill import drill_app
    from souverain.cli.keys import register as register_keys
    from souverain.cli.ledger import ledger_app
    from souverain.cli.report import report_command
    from souverain.cli.scan import scan_command

    app.command("scan")(scan_command)
    app.command("bench")(bench_command)
    app.command("advise")(advise_command)
    app.add_typer(capture_app, name="capture")
    app.add_typer(drill_app, name="drill")
    app.add_typer(ledger_app, name="ledger")
    app.command("report")(report_command)
    register_keys(keys_app)


_register_concerns()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except Exception as exc:  # a bug: one line, not a traceback, unless asked for
        if os.environ.get("SOUVERAIN_DEBUG"):
            raise
        error(
            f"unexpected {type(exc).__name__}: {exc} (a bug in souverain; run again with "
            "SOUVERAIN_DEBUG=1 to see the traceback and report it)"
        )
        sys.exit(INTERNAL)
