"""What every command prints when it fails: one line on stderr, ``error: what; how to fix``, and
a documented exit code (README "Exit codes"). Messages are printed as plain text (a path or an
extra such as ``souverain[postgres]`` is never taken for console markup)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

#: Exit codes, the same for every command (README "Exit codes").
OK = 0
CHECK_FAILED = 1  # the command ran and found a problem: a drill not ready, a broken chain
USAGE = 2  # bad option, bad or unusable configuration: fix the command line or the file
LEDGER = 3  # the ledger cannot be opened or read
MODEL = 4  # serve: a configured model cannot be loaded
INTERNAL = 70  # a bug: an unexpected error (one line; SOUVERAIN_DEBUG=1 shows the traceback)
INTERRUPTED = 130

err = Console(stderr=True, soft_wrap=True, highlight=False)  # never wrap messages mid-sentence


def error(message: str) -> None:
    """Print ``error: message`` on stderr (no markup is interpreted in ``message``)."""
    err.print(Text.assemble(("error:", "red"), " ", message))


def warning(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", message))


def fail(message: str, code: int = USAGE) -> NoReturn:
    """Print the error line and exit with ``code``."""
    error(message)
    raise typer.Exit(code)


def print_fitting(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[str] = (),
) -> None:
    """A table whole: the wide table (a row per item, a column per figure) when it fits the
    terminal, else one small table per row, titled by its first cell, a figure per line. Never a
    truncated header or name (README: readable at 80 columns)."""
    from rich.measure import Measurement

    wide = Table(title=title, title_justify="left")
    for col in columns:
        wide.add_column(col, justify="right" if col in right else "left")
    for row in rows:
        wide.add_row(*row)
    natural = Measurement.get(console, console.options.update_width(10_000), wide).maximum
    if natural <= console.width or not rows:
        console.print(wide)
        return
    for row in rows:
        t = Table(title=f"{title} · {row[0]}", title_justify="left")
        t.add_column("field", no_wrap=True)
        t.add_column("value", overflow="fold")
        for name, value in zip(columns[1:], row[1:], strict=True):
            t.add_row(name, value)
        console.print(t)
