"""The bench's own overhead per item versus calling the backend directly (issue #5; target <= 2 %).

Same items, same backend object, temperature 0, the model's prompt cache reset before every call,
interleaved so that machine drift hits both sides alike: (direct) ``backend.stream(request)`` consumed to the end; (bench) ``run_item`` —
placement, content scan, data actions, metering, ledger row (SQLite), scoring.

Usage:  python bench/bench_overhead.py [--suite doc-classify] [--items 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


async def main(suite_name: str, n: int) -> None:
    os.environ.setdefault("SOUVERAIN_DATA_DIR", tempfile.mkdtemp())
    from souverain.config import default_config
    from souverain.evaluation.runner import generation_request, run_item
    from souverain.evaluation.suite import load_suite
    from souverain.gateway.runtime import Runtime

    cfg = default_config()
    runtime = Runtime(cfg)
    await runtime.start()
    backend = runtime.backends["gemma-3-270m"]
    use_case = cfg.use_case("default")
    suite = load_suite(suite_name)
    items = suite.items[:n]
    direct: list[float] = []
    bench: list[float] = []
    tokens: list[int | None] = []
    try:
        await run_item(runtime, suite, use_case, backend.name, items[0])  # warm-up (prompt cache)
        for i, item in enumerate(items):
            for side in ("direct", "bench") if i % 2 == 0 else ("bench", "direct"):
                backend._llm.reset()  # no prompt-cache reuse: both sides evaluate the full prompt
                t = time.perf_counter()
                if side == "direct":
                    async for _ in backend.stream(generation_request(suite, item, f"direct-{i}")):
                        pass
                    direct.append(time.perf_counter() - t)
                else:
                    record = await run_item(runtime, suite, use_case, backend.name, item)
                    bench.append(time.perf_counter() - t)
                    tokens.append(record.get("completion_tokens"))
                    assert "error" not in record, record
    finally:
        await runtime.close()
    d, b = sum(direct), sum(bench)
    per_item = [(y - x) * 1000 for x, y in zip(direct, bench, strict=True)]
    if os.environ.get("BENCH_VERBOSE"):
        for i, (x, y) in enumerate(zip(direct, bench, strict=True)):
            print(
                f"  item {i:2}: direct {x * 1000:8.1f} ms   bench {y * 1000:8.1f} ms   tokens {tokens[i]}"
            )
    print(
        f"suite {suite_name}, {len(items)} items on the embedded model (temperature 0, interleaved)"
    )
    print(f"  direct backend.stream: {d / len(items) * 1000:8.1f} ms per item")
    print(f"  through souverain bench: {b / len(items) * 1000:6.1f} ms per item")
    print(
        f"  overhead: {(b - d) / d:+.2%} (median {statistics.median(per_item):+.1f} ms per item)   target <= 2 %"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--suite", default="doc-classify")
    ap.add_argument("--items", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(main(args.suite, args.items))
