"""Tables a person can read at 80 columns (README: "readable at 80 columns"): the wide table when
it fits the terminal, else one small table per row. Used by the CLI and the bench's own table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


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
