"""Credentials: PEM private keys, bearer tokens and the common API-key formats.

Every pattern is anchored on a distinctive prefix, so one combined regex pass is enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.detect.finding import Finding

# (name, pattern). The value reported is group "v" when the pattern has one, else the match.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "pem_private_key",
        r"-----BEGIN[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    ("openai", r"\bsk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    (
        "aws_secret_key",
        r"(?i:aws_?secret_?access_?key)[\"']?\s{0,8}[:=]\s{0,8}[\"']?(?P<v>[A-Za-z0-9/+=]{40})\b",
    ),
    ("github", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("gitlab", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    ("slack", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("stripe", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"),
    ("huggingface", r"\bhf_[A-Za-z0-9]{30,}"),
    ("npm", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("sendgrid", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{10,}"),
    ("bearer", r"\b[Bb]earer[ \t]+(?P<v>[A-Za-z0-9\-._~+/]{16,}=*)"),
    ("url_password", r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]{1,64}:(?P<v>[^\s@/]{3,128})@"),
    (
        "assignment",
        r"(?i:\b(?:password|passwd|pwd|passwort|mot de passe|contraseña|secret|api[_\-]?key|"
        r"access[_\-]?token|auth[_\-]?token|client[_\-]?secret))[\"']?\s{0,8}[:=]\s{0,8}[\"']?"
        r"(?P<v>(?=[^\s\"',;]{0,199}\d)(?=[^\s\"',;]{0,199}[A-Za-z])[^\s\"',;]{8,200})",
    ),
)

# A pattern runs only when one of its literals is in the text (``str.__contains__`` is far
# cheaper than a regex pass); "lower:" literals are looked up in the lower-cased text.
_LITERALS: dict[str, tuple[str, ...]] = {
    "pem_private_key": ("-----BEGIN",),
    "openai": ("sk-",),
    "aws_access_key": ("AKIA", "ASIA", "ABIA", "ACCA"),
    "aws_secret_key": ("lower:secret",),
    "github": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab": ("glpat-",),
    "slack": ("xox",),
    "slack_webhook": ("hooks.slack.com",),
    "google_api_key": ("AIza",),
    "stripe": ("_live_", "_test_"),
    "huggingface": ("hf_",),
    "npm": ("npm_",),
    "sendgrid": ("SG.",),
    "jwt": ("eyJ",),
    "bearer": ("earer",),
    "url_password": ("://",),
    "assignment": (
        "lower:pass", "lower:pwd", "lower:mot de passe", "lower:contraseña", "lower:secret",
        "lower:key", "lower:token",
    ),
}  # fmt: skip
_COMPILED = tuple((name, re.compile(pat), _LITERALS[name]) for name, pat in SECRET_PATTERNS)


def detect_secrets(text: str) -> Iterator[Finding]:
    lowered: str | None = None
    for name, rx, literals in _COMPILED:
        present = False
        for lit in literals:
            if lit.startswith("lower:"):
                if lowered is None:
                    lowered = text.lower()
                present = lit[6:] in lowered
            else:
                present = lit in text
            if present:
                break
        if not present:
            continue
        for m in rx.finditer(text):
            start, end = m.span("v") if "v" in rx.groupindex else m.span()
            yield Finding("secret", start, end, text[start:end], None, name, 5)
