"""What every ``souverain`` sub-command shares: the ``--config`` option, and loading a config or
exiting with code 2 (the problems named by file and field); the error console is
:mod:`souverain.cli.output`'s."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from souverain.cli.output import err, error

if TYPE_CHECKING:
    from souverain.config.schema import Config

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (default: $SOUVERAIN_CONFIG, else built-in: embedded model, use case 'default').",
    ),
]
__all__ = ["ConfigOpt", "err", "load_or_exit", "prepare_models"]


def load_or_exit(path: Path | None) -> Config:
    """Load a config, or print the problems (file and field paths) and exit with code 2."""
    from souverain.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        error(f"{exc}")
        raise typer.Exit(2) from None


def prepare_models(cfg: Config) -> None:
    """Write what the configured models need on this machine before anything loads (the
    embedded model's cache file on first start, about 250 MB), with a progress bar on stderr.
    A failure is left to the backend's start, which reports it."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    bar: Progress | None = None
    task: TaskID | None = None

    def progress(done: int, total: int, path: Path) -> None:
        nonlocal bar, task
        if bar is None:
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
            )
            bar.start()
            task = bar.add_task(f"first start: writing the model to {path}", total=total)
        bar.update(task, completed=done)  # type: ignore[arg-type]

    try:
        for backend in cfg.backends:
            backend.prepare(progress)
    finally:
        if bar is not None:
            bar.stop()
