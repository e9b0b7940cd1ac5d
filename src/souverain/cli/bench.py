"""``souverain bench`` and ``souverain advise``: measure each backend on a use case's own tasks,
then recommend the cheapest compliant layer that meets the use case's quality floor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from souverain.cli.common import ConfigOpt, load_or_exit, prepare_models
from souverain.cli.output import err, error


def bench_command(
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            "-s",
            help="A built-in suite (kyc-extract, doc-classify, kb-retrieval) or a suite file.",
        ),
    ],
    use_case: Annotated[
        str,
        typer.Option("--use-case", "-u", help="The use case whose policy and candidates apply."),
    ],
    backends: Annotated[
        str | None,
        typer.Option(
            "--backends",
            "-b",
            help="Comma-separated backends (default: the use case's candidates).",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Only the first N items.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output directory (default: <data dir>/bench/<time>-<suite>-<use case>).",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run a task suite on each backend of a use case, through the gateway's own placement, data
    actions and metering; write results.json, results.png and report.html."""
    from souverain.config import config_hash
    from souverain.evaluation.advise import results_dir
    from souverain.evaluation.report import print_table, write_results
    from souverain.evaluation.runner import run_bench
    from souverain.evaluation.suite import SuiteError, load_suite
    from souverain.gateway.runtime import Runtime

    cfg = load_or_exit(config)
    try:
        task_suite = load_suite(suite)
    except SuiteError as exc:
        error(f"{exc}")
        raise typer.Exit(2) from None
    if use_case not in cfg.use_case_names:
        error(f"unknown use case {use_case!r}; valid: {', '.join(cfg.use_case_names)}")
        raise typer.Exit(2)
    uc = cfg.use_case(use_case)
    names = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    unknown = [n for n in names or [] if n not in {b.name for b in cfg.backends}]
    if unknown:
        error(
            f"unknown backend(s) {', '.join(unknown)}; use case {use_case!r} has "
            f"{', '.join(uc.backends)} (all backends: {', '.join(b.name for b in cfg.backends)})"
        )
        raise typer.Exit(2)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or results_dir(cfg) / f"{stamp}-{task_suite.name}-{use_case}"
    n_items = min(limit, len(task_suite.items)) if limit else len(task_suite.items)

    async def main() -> Any:
        runtime = Runtime(cfg)
        await runtime.start()
        try:
            from souverain.evaluation.runner import plan_backends

            run_names, _ = plan_backends(runtime, uc, names)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
            ) as progress:
                task = progress.add_task(
                    f"{task_suite.name} on {use_case}", total=n_items * len(run_names)
                )

                def tick(backend: str, record: dict[str, Any]) -> None:
                    progress.update(task, advance=1, description=f"{task_suite.name} · {backend}")

                return await run_bench(runtime, task_suite, uc, names, limit, tick)
        finally:
            await runtime.close()

    prepare_models(cfg)
    run = asyncio.run(main())
    path = write_results(out_dir, task_suite, use_case, run.records, run.excluded, config_hash(cfg))
    print_table(path)
    if out is not None and results_dir(cfg).resolve() not in out_dir.resolve().parents:
        err.print(
            f"note: {out_dir} is outside bench.results_dir ({results_dir(cfg)}): objective "
            f"routing will not see it; souverain advise --results {out_dir.parent}",
            highlight=False,
        )
    for name, reason in run.excluded.items():
        err.print(f"excluded: {name} ({reason})", highlight=False)
    Console().print(
        f"results: {path}\nchart:   {path.parent / 'results.png'}\nreport:  {path.parent / 'report.html'}",
        highlight=False,
    )


def advise_command(
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            help="cost, energy, speed or quality (default: each use case's objective, else quality).",
        ),
    ] = None,
    use_case: Annotated[
        list[str] | None, typer.Option("--use-case", "-u", help="Only these use cases (repeat).")
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            help="Write a copy of the config with the recommended backends order (comments kept).",
        ),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            "-r",
            help="Read bench results (every results.json below it) from this directory "
            "(default: bench.results_dir, else <data dir>/bench), e.g. where bench --out wrote.",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Per use case: the compliant candidates, the excluded ones and why, each one's quality
    against the use case's quality_floor, and the recommended order (from the latest bench results)."""
    from souverain.backends.registry import create_backend
    from souverain.evaluation.advise import (
        OBJECTIVES,
        advise_use_case,
        load_all_results,
        results_dir,
        write_backends_order,
    )

    if objective is not None and objective not in OBJECTIVES:
        error(f"--objective must be one of {', '.join(OBJECTIVES)}")
        raise typer.Exit(2)
    if write is not None and config is None:
        error("--write needs --config FILE (the config to copy with the new order)")
        raise typer.Exit(2)
    cfg = load_or_exit(config)
    unknown = [u for u in use_case or [] if u not in cfg.use_case_names]
    if unknown:
        error(f"unknown use case(s) {', '.join(unknown)}; valid: {', '.join(cfg.use_case_names)}")
        raise typer.Exit(2)
    backends = {b.name: create_backend(b) for b in cfg.backends}  # placement reads their metadata
    root = results if results is not None else results_dir(cfg)
    docs = load_all_results(root)
    out = Console()
    err.print(
        f"bench results: {len(docs)} results.json under {root}"
        + ("" if docs else " (run souverain bench, or point --results where bench --out wrote)"),
        highlight=False,
    )
    written: list[tuple[str, list[str]]] = []
    for uc in cfg.use_cases:
        if use_case and uc.name not in use_case:
            continue
        obj = objective or uc.objective or "quality"
        advice = advise_use_case(uc, backends, docs, obj, cfg.bench.min_items)
        floor = f"{uc.quality_floor:.2f}" if uc.quality_floor is not None else "none"
        t = Table(title=f"{uc.name} — objective {obj}, quality floor {floor}", title_justify="left")
        # what identifies a row (backend, status) is never cut at 80 columns: the others wrap
        t.add_column("rank", overflow="fold")
        for col, attr in (("backend", "backend"), ("status", "status")):
            width = max([len(col)] + [len(getattr(d, attr)) for d in advice.decisions])
            t.add_column(col, no_wrap=True, min_width=width)
        for col in ("quality (95% CI)", obj if obj != "quality" else "metric", "reason"):
            t.add_column(col, overflow="fold")
        for d in advice.decisions:
            q = (
                "-"
                if d.quality is None
                else f"{d.quality:.2f} ({_f(d.quality_ci[0])}–{_f(d.quality_ci[1])}) n={d.items}"
            )
            t.add_row(str(d.rank or "-"), d.backend, d.status, q, _f(d.metric), d.reason)
        out.print(t)
        out.print(
            f"recommended order: {', '.join(advice.order) or '(none: no compliant candidate)'}"
            + (f" — {advice.note}" if advice.note else ""),
            highlight=False,
        )
        if advice.order:
            written.append((uc.name, advice.order))
    if write is not None:
        if not written:
            error(f"{write} not written: no use case has a recommended order")
            raise typer.Exit(1)
        current = Path(config)  # type: ignore[arg-type]  # checked before any work
        try:
            if write.resolve() == current.resolve():  # never overwrite the only copy
                backup = current.with_name(current.name + ".bak")
                backup.write_bytes(current.read_bytes())
                out.print(f"backup of {current}: {backup}", highlight=False)
            for name, order in written:
                write_backends_order(current, name, order, write)
                current = write
        except OSError as exc:
            error(f"cannot write {write}: {exc.strerror or exc}; choose another path")
            raise typer.Exit(2) from None
        out.print(f"wrote {write}", highlight=False)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
