"""Every CLI failure is one line saying what and how to fix, with a documented exit code, never a
traceback (issue #16 item 7); every error code the API can return is in the README's table."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from souverain.cli import main as cli_main
from souverain.cli.main import app
from souverain.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def one_error_line(result, code: int) -> str:
    """The command failed with ``code`` and said so in error lines, with no traceback."""
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    assert [line for line in out.splitlines() if line.startswith("error:")] or "Error" in out, out
    return out


# -- the README's table of API error codes ----------------------------------------------------
def _codes_in_source() -> set[str]:
    """Every error ``code`` the API surface can send, found in the code: ``code="x"``, a class's
    ``code = "x"``, ``Refusal(status, "x", ...)`` / ``APIError(status, ..., code=...)`` and
    ``error_body(message, type, param, "x")``."""
    codes: set[str] = set()
    for path in (ROOT / "src" / "souverain").rglob("*.py"):
        if "console" in path.parts or "cli" in path.parts:  # HTML pages and commands, not the API
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                        codes.add(kw.value.value)
                where = {"Refusal": 1, "error_body": 3}.get(str(name))
                if where is not None and len(node.args) > where:
                    arg = node.args[where]
                    if isinstance(arg, ast.Constant):
                        codes.add(arg.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                for sub in ast.walk(node.value):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        codes.add(sub.value)
    return {c for c in codes if isinstance(c, str) and re.fullmatch(r"[a-z]+(_[a-z]+)+", c)}


def _codes_in_readme_table() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| situation | status | `code` |") :]
    table = table[: table.index("\n\n")]
    return {
        code
        for line in table.splitlines()[2:]
        for code in re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", line.split("|")[3]))
    }


def test_every_api_error_code_is_in_the_readme_table() -> None:
    source, table = _codes_in_source(), _codes_in_readme_table()
    assert {"context_length_exceeded", "no_compliant_backend", "budget_exceeded"} <= source
    assert source - table == set(), "codes the API returns but the README does not list"
    assert table - source == set(), "codes the README lists but nothing returns"


# -- one line, documented exit code -------------------------------------------------------------
def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    Ledger.open(str(path)).close()
    return path


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "souverain.yaml"
    path.write_text(
        f"""
ledger: {{url: "{tmp_path / "ledger.db"}"}}
backends:
  - {{name: local, type: llamacpp, model: embedded, self_hosted: true, operator: ACME IT,
     operator_jurisdiction: FR, location: FR, open_weights: true}}
use_cases:
  - {{name: default, backends: [local]}}
{extra}""",
        encoding="utf-8",
    )
    return path


def test_report_chart_into_a_missing_directory_creates_it_and_prints_the_path(
    tmp_path: Path,
) -> None:
    _ledger(tmp_path)
    chart = tmp_path / "not" / "yet" / "there.png"
    result = runner.invoke(app, ["report", "-c", str(_config(tmp_path)), "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert chart.stat().st_size > 1000 and f"chart: {chart}" in result.output


def test_report_chart_onto_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    _ledger(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["report", "-c", str(_config(tmp_path)), "--chart", str(blocker / "x.png")]
    )
    out = one_error_line(result, 2)
    assert f"error: cannot write the chart to {blocker / 'x.png'}" in out


def test_ledger_export_unknown_kind_is_refused(tmp_path: Path) -> None:
    _ledger(tmp_path)
    result = runner.invoke(app, ["ledger", "export", "-c", str(_config(tmp_path)), "--kind", "foo"])
    out = one_error_line(result, 2)
    assert "request, bench, drill" in out and "exported" not in out


def test_bench_unknown_backend_lists_the_valid_ones(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "-c",
            str(_config(tmp_path)),
            "-s",
            "doc-classify",
            "-u",
            "default",
            "-b",
            "nope",
        ],
    )
    out = one_error_line(result, 2)
    assert "unknown backend(s) nope" in out and "local" in out


@pytest.mark.parametrize("value", ["France", "EU", "X1"])
def test_a_bad_site_country_variable_is_a_clear_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUVERAIN_SITE_COUNTRY", value)
    result = runner.invoke(app, ["report"])
    out = one_error_line(result, 2)
    assert "SOUVERAIN_SITE_COUNTRY" in out and value in out and "(FR, DE" in out


def test_a_good_site_country_variable_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from souverain.config import load_config

    monkeypatch.setenv("SOUVERAIN_SITE_COUNTRY", " fr ")
    assert load_config(None).site.country == "FR"


def test_advise_write_without_config_fails_before_any_work(tmp_path: Path) -> None:
    result = runner.invoke(app, ["advise", "--write", str(tmp_path / "new.yaml")])
    out = one_error_line(result, 2)
    assert "--write needs --config" in out and "recommended order" not in out


def test_postgres_url_without_the_extra_names_it() -> None:
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from souverain.cli.main import main\n"
        "sys.argv = ['souverain', 'ledger', 'verify', '--url', 'postgresql://127.0.0.1:1/x']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "pip install 'souverain[postgres]'" in lines[0]


def test_an_unexpected_error_is_one_line_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise RuntimeError("simulated")

    monkeypatch.setattr(cli_main, "app", boom)
    monkeypatch.delenv("SOUVERAIN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli_main.main()
    assert info.value.code == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: simulated" in err
    assert "SOUVERAIN_DEBUG=1" in err


def test_the_readme_documents_every_exit_code() -> None:
    from souverain.cli import output

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") :]
    section = section[: section.index("\n## ")]
    for name in ("OK", "CHECK_FAILED", "USAGE", "LEDGER", "MODEL", "INTERNAL", "INTERRUPTED"):
        assert f"\n| {getattr(output, name)} |" in section, name


# -- check-config catches what serve would trip on (issue #16 item 2) ----------------------------
def test_check_config_reads_souverain_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path)
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(path))
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 0, result.output
    assert f"{path} (from $SOUVERAIN_CONFIG) is valid" in result.output
    monkeypatch.delenv("SOUVERAIN_CONFIG")
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 0 and "built-in default config" in result.output


@pytest.mark.parametrize("content", [None, b"not a model"], ids=["missing", "not-gguf"])
def test_check_config_fails_on_a_model_serve_cannot_load(
    tmp_path: Path, content: bytes | None
) -> None:
    model = tmp_path / "m.gguf"
    if content is not None:
        model.write_bytes(content)
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("model: embedded", f"model: {model}"))
    result = runner.invoke(app, ["check-config", str(path)])
    out = one_error_line(result, 1)
    assert "is valid, but cannot work here" in out and "backends[0].model" in out
    assert ("not found" if content is None else "not a GGUF file") in out


def test_check_config_fails_on_keys_that_can_never_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.delenv("OP_TEST_UNSET", raising=False)
    digest = hashlib.sha256(b"sk-sov-same").hexdigest()
    empty = hashlib.sha256(b"").hexdigest()
    path = _config(
        tmp_path,
        f"""api_keys:
  - {{name: a, sha256: {digest}}}
  - {{name: b, sha256: {digest}}}
  - {{name: c, sha256: {empty}}}
  - {{name: d, env: OP_TEST_UNSET}}
""",
    )
    result = runner.invoke(app, ["check-config", str(path)])
    out = one_error_line(result, 1)
    assert "api_keys[1]: key b is the same key as api_keys[0] (a)" in out
    assert "api_keys[2].sha256" in out and "empty key" in out
    assert "api_keys[3].env" in out and "OP_TEST_UNSET is not set" in out
    assert "api_keys[0]" not in out.replace("as api_keys[0]", "")
