"""``souverain drill exit``: prove, with a real run, that each use case survives losing a backend,
an operator or a jurisdiction (docs/drills.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from souverain.cli.common import load_or_exit, prepare_models
from souverain.cli.output import err, error

drill_app = typer.Typer(
    help="Exit drills: replay each use case's workload without a provider (see docs/drills.md).",
    no_args_is_help=True,
)


@drill_app.callback()
def _drill() -> None:
    """Exit drills: replay each use case's workload without a provider (see docs/drills.md)."""


@drill_app.command("exit")
def exit_command(
    without_backend: Annotated[
        list[str] | None,
        typer.Option("--without-backend", help="Remove this backend (by name; repeat)."),
    ] = None,
    without_operator: Annotated[
        list[str] | None,
        typer.Option(
            "--without-operator",
            help="Remove every backend of this operator (case-insensitive; repeat).",
        ),
    ] = None,
    without_jurisdiction: Annotated[
        list[str] | None,
        typer.Option(
            "--without-jurisdiction",
            help="Remove every backend whose operator is under this law (FR, US, ... or EU/EEA; repeat).",
        ),
    ] = None,
    use_case: Annotated[
        list[str] | None,
        typer.Option("--use-case", "-u", help="Only these use cases (repeat; default: all)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, help="Replay at most N suite items and N captured requests."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output directory (default: <data dir>/drills/<UTC time>)."
        ),
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan-only",
            "--plan",
            help="Dry run: placement changes and capability gaps; no backend contacted, nothing "
            "replayed.",
        ),
    ] = False,
    probe_timeout: Annotated[
        float,
        typer.Option(
            "--probe-timeout",
            min=0.1,
            help="Seconds each backend the verdicts rely on has to answer its probe.",
        ),
    ] = 10.0,
    allow_degraded: Annotated[
        bool, typer.Option("--allow-degraded", help="Exit 0 when use cases are only degraded.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="The YAML config file `serve` uses.")
    ] = None,
) -> None:
    """Take backends away (by name, operator or jurisdiction), recompute each use case's placement
    with the gateway's own code, replay its workload on the current and the exit backend, and
    judge: ready, degraded or no-exit. Writes drill.json and drill.md.

    Before replaying, every backend the verdicts rely on is probed; one that does not answer
    makes them 'unverified'. So does a use case with nothing to replay (no suite, no captured
    traffic) unless --plan-only is given.

    Exit code: 0 if every drilled use case is ready (--allow-degraded: or degraded), 1 otherwise
    (no-exit, unverified), 2 on a usage or configuration error."""
    from souverain.config import config_hash
    from souverain.drill.removal import DrillUsageError, drilled_use_cases, parse_removal
    from souverain.drill.report import print_table, write_json, write_markdown
    from souverain.drill.run import run_drill
    from souverain.gateway.runtime import Runtime
    from souverain.paths import data_dir

    try:
        removal = parse_removal(without_backend, without_operator, without_jurisdiction)
        cfg = load_or_exit(config)
        use_cases = drilled_use_cases(removal, cfg, use_case)
    except DrillUsageError as exc:
        for p in exc.problems:
            error(p)
        raise typer.Exit(2) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or data_dir() / "drills" / stamp

    async def main() -> Any:
        runtime = Runtime(cfg)
        try:
            if plan:
                await asyncio.to_thread(runtime.open_ledger)  # needs + the drill row; no backend
            else:
                await runtime.start()
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=plan,
            ) as progress:
                task = progress.add_task("exit drill: probing backends", total=None)
                planned = {"items": 0}

                def workload(uc: str, items: int) -> None:
                    # items left on the same backend are not replayed: the bar jumps past them
                    progress.update(task, completed=planned["items"] * 2)
                    planned["items"] += items
                    progress.update(task, total=planned["items"] * 2, description=f"{uc} · replay")

                def tick(uc: str, side: str, record: dict[str, Any]) -> None:
                    backend = record.get("backend") or "refused"
                    progress.update(task, advance=1, description=f"{uc} · {side} · {backend}")

                return await run_drill(
                    runtime,
                    removal,
                    use_cases,
                    limit=limit,
                    plan_only=plan,
                    config_hash=config_hash(cfg),
                    on_request=tick,
                    on_workload=workload,
                    probe_timeout=probe_timeout,
                )
        finally:
            await runtime.close()

    prepare_models(cfg)
    report = asyncio.run(main())
    json_path = write_json(report, out_dir)
    md_path = write_markdown(report, out_dir)
    print_table(report)
    Console().print(f"drill.json: {json_path}\ndrill.md:   {md_path}", highlight=False)
    raise typer.Exit(report.exit_code(allow_degraded))
