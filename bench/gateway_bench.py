"""Gateway overhead benchmark (issues #2, #11), measured side by side in one run on this machine.

(a) Client-side latency the gateway adds over calling a minimal OpenAI-compatible upstream on
    loopback directly: p50/p99 at 1 client, requests/s at 32 clients (1 gateway worker), with
    the content scan (always on) and the ledger off, on SQLite (and PostgreSQL when reachable);
    and, in the same run against the same upstream, the LiteLLM proxy (one worker) when a
    LiteLLM is installed in its own venv (``--litellm``; never a souverain dependency):

        python3 -m venv /tmp/litellm-venv
        /tmp/litellm-venv/bin/pip install 'litellm[proxy]==1.100.5'

(b) Streamed tokens/s through the gateway versus direct llama-cpp-python on the embedded model.

Usage:  python bench/gateway_bench.py [--requests 2000] [--seconds 5] [--rounds 3]
        [--tokens 256] [--skip-stream] [--litellm /tmp/litellm-venv/bin/litellm]

Each target is measured once per round, in turn, and the medians of the rounds are reported:
on a shared 2-core machine one run of a target can differ from the next by 30 %.
Targets: added p50 <= 1 ms and p99 <= 5 ms at 1 client; with the scan and the SQLite ledger on,
added p50 <= 1.0 ms and requests/s at 32 connections >= 10x LiteLLM's; streamed tok/s >= 95 % of
direct.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.upstream import free_port  # noqa: E402

UPSTREAM = textwrap.dedent(
    """
    import sys, orjson
    BODY = orjson.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            msg = await receive(); more = msg.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
        await send({"type": "http.response.body", "body": BODY})
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False, lifespan="off")
    """
)

PAYLOAD = {
    "model": "m",
    "messages": [{"role": "user", "content": "Summarise our Q3 meeting notes in two lines."}],
    "max_tokens": 16,
}


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def sequential(url: str, body: dict, n: int) -> list[float]:
    out = []
    with httpx.Client(timeout=30) as c:
        for _ in range(50):
            c.post(url, json=body)
        for _ in range(n):
            t = time.perf_counter()
            r = c.post(url, json=body)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    return out


async def concurrent(url: str, body: dict, clients: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(c: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            r = await c.post(url, json=body)
            assert r.status_code == 200
            done += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as c:
        t = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(clients)))
        return done / (time.perf_counter() - t)


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def gateway(up_port: int, tmp: Path, ledger: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``souverain serve`` in front of the minimal upstream; ``ledger``: off|sqlite|URL."""
    gw_port = free_port()
    cfg = tmp / f"gw-{gw_port}.yaml"
    ledger_yaml = {
        "off": "ledger: {enabled: false}",
        "sqlite": f"ledger: {{url: 'sqlite:///{tmp}/l-{gw_port}.db'}}",
    }.get(ledger, f"ledger: {{url: '{ledger}'}}")
    cfg.write_text(
        textwrap.dedent(f"""
        backends:
          - name: upstream
            type: openai
            base_url: http://127.0.0.1:{up_port}/v1
            model: m
            self_hosted: true
            operator: bench
            operator_jurisdiction: FR
            location: FR
            open_weights: true
        use_cases:
          - name: m
            backends: [upstream]
        """)
        + ledger_yaml
        + "\n"
    )
    proc = start(
        [
            sys.executable,
            "-m",
            "souverain",
            "serve",
            "--config",
            str(cfg),
            "--port",
            str(gw_port),
            "--log-level",
            "warning",
        ],
        {"SOUVERAIN_DATA_DIR": str(tmp / "data")},
    )
    wait_ready(f"http://127.0.0.1:{gw_port}/readyz")  # its health check reaches the upstream
    return proc, f"http://127.0.0.1:{gw_port}/v1/chat/completions"


#: where the LiteLLM proxy is looked for when --litellm is not given
LITELLM = "/tmp/litellm-venv/bin/litellm"


def litellm_proxy(up_port: int, tmp: Path, exe: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start the LiteLLM proxy (one worker, no database, no callbacks) in front of the same
    upstream, serving the same model name."""
    port = free_port()
    cfg = tmp / f"litellm-{port}.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        model_list:
          - model_name: m
            litellm_params:
              model: openai/m
              api_base: http://127.0.0.1:{up_port}/v1
              api_key: x
        litellm_settings:
          telemetry: false
          drop_params: true
        """)
    )
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # offline: no fetch of the price map at start
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
    }
    proc = start(
        [exe, "--config", str(cfg), "--port", str(port), "--num_workers", "1"],
        env,
    )
    wait_ready(f"http://127.0.0.1:{port}/health/liveliness")
    return proc, f"http://127.0.0.1:{port}/v1/chat/completions"


def litellm_version(exe: str) -> str:
    python = Path(exe).with_name("python")
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


def wrk_rps(url: str, clients: int, seconds: float) -> float | None:
    """Requests/s from wrk (a C load generator) when installed; the Python client saturates first."""
    import json
    import re
    import shutil

    if not shutil.which("wrk"):
        return None
    script = Path(tempfile.mkdtemp()) / "post.lua"
    body = json.dumps(json.dumps(PAYLOAD))
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {body}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    return float(found.group(1)) if found else None


LOAD_TOOL = (
    "wrk" if __import__("shutil").which("wrk") else "the python httpx client (install wrk for more)"
)


def measure(url: str, n: int, seconds: float) -> tuple[float, float, float]:
    lat = sequential(url, PAYLOAD, n)
    rps = wrk_rps(url, 32, seconds)
    if rps is None:
        rps = asyncio.run(concurrent(url, PAYLOAD, 32, seconds))
    return pct(lat, 0.5), pct(lat, 0.99), rps


def bench_overhead(
    n: int,
    ledgers: list[str],
    seconds: float = 5.0,
    litellm: str | None = None,
    rounds: int = 3,
) -> None:
    up_port = free_port()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "upstream.py").write_text(UPSTREAM)
    upstream = start([sys.executable, str(tmp / "upstream.py"), str(up_port)])
    #: label -> one (p50, p99, req/s) per round; every target is measured once per round, in
    #: turn, so that a quiet or a busy minute of the machine falls on all of them alike
    runs: dict[str, list[tuple[float, float, float]]] = {}
    try:
        time.sleep(1.0)
        for _ in range(rounds):
            runs.setdefault("direct (no gateway)", []).append(
                measure(f"http://127.0.0.1:{up_port}/v1/chat/completions", n, seconds)
            )
            for ledger in ledgers:
                proc, url = gateway(up_port, tmp, ledger)
                try:
                    kind = {"off": "off", "sqlite": "SQLite"}.get(ledger, "PostgreSQL")
                    label = f"gateway, ledger {kind}"
                    runs.setdefault(label, []).append(measure(url, n, seconds))
                finally:
                    proc.terminate()
                    proc.wait()
            if litellm:
                proc, url = litellm_proxy(up_port, tmp, litellm)
                try:
                    label = f"LiteLLM {litellm_version(litellm)} proxy"
                    runs.setdefault(label, []).append(measure(url, n, seconds))
                finally:
                    proc.terminate()
                    proc.wait()
    finally:
        upstream.terminate()
        upstream.wait()
    rows = [
        (label, *(statistics.median(r[i] for r in per) for i in range(3)))
        for label, per in runs.items()
    ]
    print(f"\n  {rounds} rounds, each target once per round in turn; medians of the rounds:")
    for label, per in runs.items():
        print(
            f"  {label:30} p50 "
            + " ".join(f"{r[0]:.3f}" for r in per)
            + "  req/s "
            + " ".join(f"{r[2]:.0f}" for r in per)
        )
    d50, d99, drps = rows[0][1:]
    print(
        "\n(a) latency the gateway adds (1 worker, loopback, minimal upstream); target: +1 ms p50, +5 ms p99"
    )
    print(
        f"  latency: one python client, {n} sequential requests; req/s: 32 connections with {LOAD_TOOL}"
    )
    print(
        f"  {'':30}{'p50 ms':>9}{'p99 ms':>9}{'+p50':>8}{'+p99':>8}{'req/s@32':>10}{'vs direct':>10}"
    )
    for label, p50, p99, rps in rows:
        print(
            f"  {label:30}{p50:>9.3f}{p99:>9.3f}{p50 - d50:>8.3f}{p99 - d99:>8.3f}{rps:>10.0f}{rps / drps:>9.2f}x"
        )
    by = {r[0]: r for r in rows}
    lite = next((r for r in rows if r[0].startswith("LiteLLM")), None)
    ours = by.get("gateway, ledger SQLite")
    if lite and ours:
        print(
            f"  souverain (scan on, SQLite ledger) vs {lite[0]}: added p50 {ours[1] - d50:+.3f} ms "
            f"vs {lite[1] - d50:+.3f} ms (target <= 1.0 ms); req/s@32 {ours[3]:.0f} vs "
            f"{lite[3]:.0f} = {ours[3] / lite[3]:.1f}x (target >= 10x)"
        )
    off = by.get("gateway, ledger off")
    for name in ("gateway, ledger SQLite", "gateway, ledger PostgreSQL"):
        if off and name in by:
            on = by[name]
            print(
                f"  ledger cost ({name.split()[-1]}): +{on[1] - off[1]:.3f} ms p50, "
                f"+{on[2] - off[2]:.3f} ms p99, req/s@32 {on[3] / off[3]:.2f}x   target (SQLite): +0.3 ms p50"
            )


def bench_stream(tokens: int, runs: int) -> None:
    from souverain.backends.embedded import embedded_model_path
    from souverain.backends.llamacpp import LlamaCppConfig, _new_llama

    prompt = "Write a long story about a lighthouse keeper in Brittany."
    cfg = LlamaCppConfig(
        name="direct",
        type="llamacpp",
        model="embedded",
        self_hosted=True,
        operator="x",
        operator_jurisdiction="FR",
        location="FR",
        open_weights=True,
    )
    llm = _new_llama(embedded_model_path(), cfg)
    direct_rates = []
    for _ in range(runs):
        t, n = time.perf_counter(), 0
        for _chunk in llm.create_completion(prompt, max_tokens=tokens, temperature=0, stream=True):
            n += 1
        direct_rates.append(n / (time.perf_counter() - t))
    del llm

    import openai

    port = free_port()
    tmp = Path(tempfile.mkdtemp())
    proc = start(
        [sys.executable, "-m", "souverain", "serve", "--port", str(port), "--log-level", "warning"],
        {"SOUVERAIN_DATA_DIR": str(tmp)},
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x")
        via_rates = []
        for _ in range(runs):
            t, usage = time.perf_counter(), None
            for c in client.completions.create(
                model="default",
                prompt=prompt,
                max_tokens=tokens,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            ):
                usage = c.usage or usage
            via_rates.append(usage.completion_tokens / (time.perf_counter() - t))
    finally:
        proc.terminate()
        proc.wait()
    d, v = statistics.median(direct_rates), statistics.median(via_rates)
    print(f"\n(b) streamed tokens/s, embedded Gemma 3 270M, {tokens} tokens, median of {runs}")
    print(f"  direct llama-cpp-python: {d:8.1f} tok/s")
    print(f"  through the gateway:     {v:8.1f} tok/s   ratio {v / d:.1%}   target >= 95 %")


def pg_reachable(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=2).close()
        return True
    except Exception:
        print(f"PostgreSQL not reachable at {url}: skipping the ledger-on-PostgreSQL run")
        return False


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each req/s run")
    ap.add_argument(
        "--rounds", type=int, default=3, help="rounds of the overhead run (medians reported)"
    )
    ap.add_argument(
        "--litellm",
        default=LITELLM if os.path.exists(LITELLM) else "",
        help=f"the LiteLLM proxy executable for the side-by-side run (default {LITELLM} if it "
        "exists; '' to skip)",
    )
    ap.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL for the ledger-on-PostgreSQL run ('' to skip)",
    )
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    ledgers = ["off", "sqlite"] + ([args.pg] if args.pg and pg_reachable(args.pg) else [])
    bench_overhead(args.requests, ledgers, args.seconds, args.litellm or None, args.rounds)
    if not args.skip_stream:
        bench_stream(args.tokens, args.runs)


if __name__ == "__main__":
    main()
