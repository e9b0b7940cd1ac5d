"""What every command prints when it fails: one line on stderr, ``error: what; how to fix``, and
a documented exit code (README "Exit codes"). Messages are printed as plain text (a path or an
extra such as ``souverain[postgres]`` is never taken for console markup)."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from souverain.tables import print_fitting

__all__ = ["err", "error", "fail", "print_fitting", "warning"]

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
