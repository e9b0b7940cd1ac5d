"""``souverain capture list|purge``: the captured traffic samples in the ledger database."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from souverain.cli.common import ConfigOpt
from souverain.cli.ledger import open_ledger
from souverain.cli.output import error

capture_app = typer.Typer(
    help="List and purge the traffic captured for exit drills (see docs/drills.md).",
    no_args_is_help=True,
)
UseCaseOpt = Annotated[
    str | None, typer.Option("--use-case", "-u", help="Only this use case's captures.")
]


def _store(ledger: Any) -> Any:
    from souverain.capture import CaptureStore

    return CaptureStore(ledger)


def _retentions(config: Path | None) -> dict[str, int]:
    """Use case -> its configured ``capture.retention_days``."""
    from souverain.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        error(f"{exc}")
        raise typer.Exit(2) from None
    return {uc.name: uc.capture.retention_days for uc in cfg.use_cases}


@capture_app.command()
def purge(
    config: ConfigOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Delete every captured item, not only expired ones.")
    ] = False,
    use_case: UseCaseOpt = None,
) -> None:
    """Delete captured items: by default the expired ones, i.e. past the retention they were
    captured with or past the use case's current `capture.retention_days` (so a shortened
    retention applies at once). `--all`: every item (of `--use-case` if given)."""
    from souverain.ledger.record import utcnow

    retentions = {} if all_ else _retentions(config)
    with open_ledger(config) as ledger:
        store = _store(ledger)
        if all_:
            deleted = store.purge(expired_only=False, use_case=use_case)
        else:
            now = utcnow()
            deleted = store.purge(use_case=use_case, now=now)
            for name, days in retentions.items():
                if use_case is None or name == use_case:
                    deleted += store.purge(
                        use_case=name, older_than=now - timedelta(days=days), now=now
                    )
    scope = f" of use case {use_case!r}" if use_case else ""
    which = "" if all_ else "expired "
    print(f"deleted {deleted} {which}captured item(s){scope}")


@capture_app.command("list")
def list_(
    config: ConfigOpt = None,
    use_case: UseCaseOpt = None,
    show: Annotated[
        bool,
        typer.Option(
            "--show", help="Also print the live items (cleaned requests and answers) as JSON lines."
        ),
    ] = False,
) -> None:
    """Captured items per use case: live and expired counts, oldest and newest capture time.
    The captured text is printed only with `--show`."""
    from souverain.ledger.record import format_ts

    with open_ledger(config) as ledger:
        store = _store(ledger)
        rows = [r for r in store.summary() if use_case is None or r["use_case"] == use_case]
        if not rows:
            print("no captured items" + (f" for use case {use_case!r}" if use_case else ""))
            return
        print(f"{'use case':<24} {'items':>6} {'expired':>7}  {'oldest':<27} newest")
        for r in rows:
            print(
                f"{r['use_case']:<24} {r['items']:>6} {r['expired']:>7}  "
                f"{format_ts(r['oldest']):<27} {format_ts(r['newest'])}"
            )
        if show:
            for r in rows:
                for item in store.items(r["use_case"]):
                    line = {
                        "id": item.id,
                        "use_case": item.use_case,
                        "request_id": item.request_id,
                        "captured_at": format_ts(item.captured_at),
                        "expires_at": format_ts(item.expires_at),
                        "kind": item.kind,
                        "backend": item.backend,
                        "data_types": item.data_types,
                        "request": item.payload,
                        "answer": item.answer,
                    }
                    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
