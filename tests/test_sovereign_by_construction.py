"""Sovereign by construction: importing the package and starting the app (embedded model loaded,
remote backends configured) opens no connection except on loopback, and reads no proxy setting."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    r"""
    import ipaddress, socket, sys
    violations = []

    def loopback(address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address):
            violations.append(("connect", address))
            raise OSError("non-loopback connection forbidden by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address):
            violations.append(("connect_ex", address))
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not loopback(host):
            violations.append(("getaddrinfo", host))
            raise socket.gaierror("name resolution forbidden by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

    import asyncio, httpx
    import souverain, souverain.cli.main
    from souverain.api.app import create_app
    from souverain.config import default_config, load_config

    async def main():
        for cfg in (default_config(), load_config(sys.argv[1])):
            app = create_app(cfg)
            runtime = app.state.runtime
            await runtime.start()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
                r = await c.get("/v1/models")
                assert r.status_code == 200, r.text
                if "default" in cfg.use_case_names:
                    r = await c.post("/v1/chat/completions", json={"model": "default", "max_tokens": 2,
                                     "messages": [{"role": "user", "content": "hi"}]})
                    assert r.status_code == 200, r.text
            await runtime.close()

    asyncio.run(main())
    print("VIOLATIONS", violations)
    sys.exit(1 if violations else 0)
    """
)


@pytest.mark.slow
def test_no_network_at_import_or_start(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(SCRIPT)
    env_cfg = ROOT / "examples" / "policies.yaml"
    proc = subprocess.run(
        [sys.executable, str(script), str(env_cfg)],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **__import__("os").environ,
            "HTTPS_PROXY": "http://proxy.invalid:3128",
            "MISTRAL_API_KEY": "x",
            "US_API_KEY": "y",
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "VIOLATIONS []" in proc.stdout
