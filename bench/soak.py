"""Soak benchmark (issue #12 item 9): the gateway under steady load for minutes, ledger on.

One ``souverain serve`` (1 worker, SQLite ledger by default, content scan on) in front of the
minimal loopback upstream of ``gateway_bench.py``; wrk drives it at 32 connections in one-minute
segments, back to back. After each segment it prints that minute's requests/s, p50/p99 latency
(wrk's latency distribution), non-2xx responses and socket errors, and the gateway's resident set
size (VmRSS). The RSS after the warm-up is the baseline; the target is growth < 10 % at the end
and 0 non-2xx responses. With the SQLite ledger it then counts the ledger's completed rows against
the answers wrk counted: each answer must have its row (a row may exist for a request wrk cut off
at a segment's end, at most one per connection and segment).

Usage:  python bench/soak.py [--minutes 10] [--segment 60] [--connections 32] [--warmup 30]
        [--ledger sqlite|URL] [--json FILE]
Needs wrk (apt-get install wrk): a Python load generator saturates the 2 cores first.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway_bench import PAYLOAD, UPSTREAM, free_port, gateway, start

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _ms(text: str) -> float:
    found = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not found:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def wrk_segment(url: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    requests = re.search(r"^\s+(\d+) requests in", out, re.M)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if not (requests and rps and "50" in dist and "99" in dist):
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(requests.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": _ms(dist["50"]),
        "p99_ms": _ms(dist["99"]),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


def ledger_rows(tmp: Path) -> int:
    """Completed rows in the gateway's SQLite ledger (the file gateway_bench.gateway wrote)."""
    import sqlite3

    (db,) = tmp.glob("l-*.db")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return int(
            con.execute("SELECT count(*) FROM ledger WHERE status = 'completed'").fetchone()[0]
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--warmup", type=int, default=30, help="seconds of load before the baseline"
    )
    parser.add_argument("--segment", type=int, default=60, help="seconds per printed row")
    parser.add_argument("--ledger", default="sqlite", help="sqlite (default) or a database URL")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp())
    (tmp / "upstream.py").write_text(UPSTREAM)
    script = tmp / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(PAYLOAD))}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    up_port = free_port()
    upstream = start([sys.executable, str(tmp / "upstream.py"), str(up_port)])
    time.sleep(1.0)
    proc, url = gateway(up_port, tmp, args.ledger)
    minutes: list[dict[str, float]] = []
    try:
        warm = wrk_segment(url, args.connections, args.warmup, script)
        baseline = rss_mib(proc.pid)
        print(
            f"soak: {args.minutes} x {args.segment} s at {args.connections} connections, ledger {args.ledger}, "
            f"1 worker; warm-up {args.warmup} s: {warm['rps']:.0f} req/s, RSS {baseline:.1f} MiB"
        )
        print(
            f"{'seg':>4}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'sock err':>9}{'RSS MiB':>9}"
        )
        for minute in range(1, args.minutes + 1):
            seg = wrk_segment(url, args.connections, args.segment, script)
            seg["rss_mib"] = rss_mib(proc.pid)
            minutes.append(seg)
            print(
                f"{minute:>4}{seg['rps']:>9.0f}{seg['p50_ms']:>9.2f}{seg['p99_ms']:>9.2f}"
                f"{seg['non_2xx']:>9}{seg['socket_errors']:>9}{seg['rss_mib']:>9.1f}",
                flush=True,
            )
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with {proc.returncode}")
    finally:
        proc.terminate()
        proc.wait()
        upstream.terminate()
        upstream.wait()
    answered = warm["requests"] + sum(m["requests"] for m in minutes)
    rows = ledger_rows(tmp) if args.ledger == "sqlite" else None
    slack = args.connections * (args.minutes + 1)
    rows_ok = rows is None or answered <= rows <= answered + slack
    if rows is not None:
        print(
            f"ledger: {rows} completed rows for {answered} answers counted by wrk "
            f"({'ok' if rows_ok else 'MISMATCH'}: rows - answers = {rows - answered}, "
            f"at most {slack} cut-off requests)"
        )
    end = minutes[-1]["rss_mib"]
    growth = (end - baseline) / baseline * 100
    errors = sum(m["non_2xx"] + m["socket_errors"] for m in minutes)
    total = sum(m["requests"] for m in minutes)
    print(
        f"total {total} requests; RSS {baseline:.1f} -> {end:.1f} MiB ({growth:+.1f} %, target < 10 %); "
        f"errors {errors} (target 0)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "baseline_rss_mib": baseline,
                    "growth_pct": growth,
                    "errors": errors,
                    "answered": answered,
                    "ledger_completed_rows": rows,
                    "minutes": minutes,
                },
                indent=2,
            )
        )
        print(f"wrote {args.json}")
    return 0 if growth < 10 and errors == 0 and rows_ok else 1


if __name__ == "__main__":
    sys.exit(main())
