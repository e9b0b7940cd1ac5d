"""``souverain scan``: find personal data, secrets and confidential markers in a file or stdin.

Values are never printed: the output gives each finding's type, offsets, country and validator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer


def _markers(config: Path | None) -> list[str]:
    if config is None:
        return []
    import yaml

    try:
        data: Any = yaml.safe_load(config.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read config {config}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise _fail(f"{config}: not valid YAML: {exc}") from exc
    markers = data.get("confidential_markers") if isinstance(data, dict) else None
    if markers is None:
        return []
    if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
        raise _fail(f"{config}: confidential_markers must be a list of strings")
    return markers


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def scan_command(
    file: str = typer.Argument("-", help="text file to scan, or - for standard input"),
    format: str = typer.Option("table", "--format", help="table (readable) or json"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="use confidential_markers from this config file"
    ),
) -> None:
    """Scan a text for personal data, secrets and confidential markers (values not printed)."""
    if format not in ("table", "json"):
        raise _fail(f"unknown format {format!r}: use table or json")
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError as exc:
            raise _fail(f"no such file: {file}") from exc
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    from souverain.detect import Scanner

    try:
        scanner = Scanner(_markers(config))
    except ValueError as exc:  # re.error is a ValueError: a bad ``re:`` marker
        raise _fail(f"invalid confidential marker: {exc}") from exc
    findings = scanner.scan(text)
    if format == "json":
        sys.stdout.write(json.dumps({"findings": [f.to_dict() for f in findings]}) + "\n")
        return
    _table(findings, file)


def _table(findings: list[Any], source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not findings:
        console.print(f"no findings in {'stdin' if source == '-' else source}")
        return
    table = Table(title=f"{len(findings)} finding(s)")
    for col in ("type", "category", "start", "end", "country", "validator"):
        table.add_column(col, justify="right" if col in ("start", "end") else "left")
    for f in findings:
        table.add_row(
            f.type, f.category, str(f.start), str(f.end), f.country or "", f.validator or ""
        )
    console.print(table)
