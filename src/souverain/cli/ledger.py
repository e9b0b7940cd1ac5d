"""``souverain ledger verify|checkpoint|export``: check the hash chain (read-only, against signed
checkpoints), anchor its head, export rows (jsonl, OpenTelemetry)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from souverain.cli.common import ConfigOpt, err
from souverain.cli.output import error

ledger_app = typer.Typer(
    help="Verify the tamper-evident request ledger and export its rows.", no_args_is_help=True
)
SinceOpt = Annotated[
    str | None,
    typer.Option(help="From this UTC time: ISO date/datetime, or relative (7d, 12h)."),
]
UntilOpt = Annotated[str | None, typer.Option(help="Before this UTC time (same forms as --since).")]


def ledger_url(config: Path | None) -> str | None:
    """The ledger URL of the configuration ``serve`` would use (None: the default SQLite file)."""
    from souverain.config import ConfigError, load_config

    try:
        return load_config(config).ledger.url
    except ConfigError as exc:
        error(f"{exc}")
        raise typer.Exit(2) from None


def open_ledger(config: Path | None, url_override: str | None = None) -> Any:
    """Open the configured ledger for reading. A SQLite file that does not exist is an error
    (a mistyped path must not look like a fresh, valid, empty chain)."""
    from sqlalchemy.engine import make_url

    from souverain.ledger import Ledger, LedgerUnavailable
    from souverain.ledger.engine import normalise_url

    url = url_override if url_override else ledger_url(config)
    sa_url = make_url(normalise_url(url))
    if (
        sa_url.get_backend_name() == "sqlite"
        and sa_url.database
        and not Path(sa_url.database).exists()
    ):
        error(
            f"no ledger at {sa_url.database} (has `souverain serve` run with this "
            "config? check ledger.url)"
        )
        raise typer.Exit(3)
    try:
        return Ledger.open(url)
    except LedgerUnavailable as exc:
        error(f"{exc}")
        raise typer.Exit(3) from None


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO date or datetime (UTC if no zone), or ``<n>d`` / ``<n>h`` before now."""
    from souverain.ledger.period import parse_time as parse

    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


#: the ``kind`` column's values (ledger rows of the gateway, of bench runs, of exit drills)
KINDS = ("request", "bench", "drill")

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="This ledger (a SQLite file or postgresql:// URL) instead of the config's: what an auditor holding only the database needs.",
    ),
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="Read the checkpoint signing key from this file (default: $SOUVERAIN_LEDGER_SIGNING_KEY).",
    ),
]


def open_readonly(config: Path | None, url_override: str | None) -> Any:
    """Open the ledger read-only (changing no byte, never migrating); exit 3 if there is none."""
    from souverain.ledger import LedgerError
    from souverain.ledger.readonly import open_readonly as open_ro

    url = url_override if url_override else ledger_url(config)
    try:
        return open_ro(url)
    except LedgerError as exc:
        error(f"{exc}")
        raise typer.Exit(3) from None


def signing_key(key_file: Path | None) -> bytes:
    from souverain.ledger.checkpoint import CheckpointError, load_key

    try:
        return load_key(key_file)
    except CheckpointError as exc:
        error(f"{exc}")
        raise typer.Exit(2) from None


@ledger_app.command()
def verify(
    config: ConfigOpt = None,
    url: UrlOpt = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Also check against this signed checkpoint file, or every *.json in this directory: rows missing at or before a checkpoint (truncation), a re-hashed chain or a bad signature fail.",
        ),
    ] = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Check the whole hash chain, read-only (no byte of the database changes). Exits 1 naming
    the first edited, deleted, inserted or reordered row or failed checkpoint; 3 when there is
    no ledger there; prints the head hash."""
    from souverain.ledger import checkpoint as cp

    docs = None
    if checkpoint is not None:
        key = signing_key(key_file)
        try:
            docs = cp.load(checkpoint)
        except cp.CheckpointError as exc:
            error(f"{exc}")
            raise typer.Exit(2) from None
    with open_readonly(config, url) as ledger:
        result = ledger.verify()
        cp_problems = cp.check(ledger, docs, key) if docs is not None else []
    problems = [str(p) for p in result.problems] + [str(p) for p in cp_problems]
    if problems:
        err.print(f"[red]ledger verification FAILED[/red] at {problems[0]}")
        for problem in problems[1:10]:
            err.print(f"  also: {problem}")
        raise typer.Exit(1)
    anchored = f"; {len(docs)} checkpoint(s) ok" if docs is not None else ""
    print(
        f"ok: {result.rows_checked} sealed rows, {result.pending} pending; "
        f"head seq {result.head_seq} {result.head_hash}{anchored}"
    )


@ledger_app.command()
def checkpoint(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the checkpoint here (default: stdout)."),
    ] = None,
    config: ConfigOpt = None,
    url: UrlOpt = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Write a signed checkpoint of the chain head (seq, head_hash, time, key id, HMAC-SHA256
    signature). Keep it outside the database; `ledger verify --checkpoint` checks against it."""
    import json

    from souverain.ledger import checkpoint as cp

    key = signing_key(key_file)
    with open_readonly(config, url) as ledger:
        result = ledger.verify()
        if not result.ok:
            err.print(f"[red]refusing to checkpoint a broken chain:[/red] {result.first}")
            raise typer.Exit(1)
        doc = cp.make(ledger, key)
    if out is None:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        cp.write(doc, out)
        err.print(f"checkpoint of seq {doc['seq']} written to {out}")


@ledger_app.command()
def export(
    format: Annotated[
        str, typer.Option("--format", "-f", help="jsonl or otel (OTLP/JSON spans).")
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    kind: Annotated[
        str | None, typer.Option(help="Only rows of this kind: request, bench, drill.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Export ledger rows (no prompt or completion text is ever stored, so none is exported)."""
    from souverain.ledger.export import FORMATS
    from souverain.ledger.export import export as run_export

    if format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    if kind is not None and kind not in KINDS:  # a typo must not look like an empty ledger
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}", param_hint="--kind")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    with open_ledger(config) as ledger:
        rows = ledger.rows(since=start, until=end, kind=kind)
        if out is None:
            n = run_export(rows, format, sys.stdout)
        else:
            with out.open("w", encoding="utf-8") as fh:
                n = run_export(rows, format, fh)
    err.print(f"exported {n} rows" + (f" to {out}" if out else ""))
