"""E-mail addresses and IPv6 addresses (IPv4 is found with the other digit runs)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from souverain.detect.finding import PATTERN, STRONG, Finding

EMAIL_RE = re.compile(
    r"(?<![\w.+%\-])[\w.+%\-]{1,64}@(?:[^\W_](?:[\w\-]{0,62}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w\-])"
)
IPV6_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|:)?(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def detect_email(text: str) -> Iterator[Finding]:
    if "@" not in text:
        return
    for m in EMAIL_RE.finditer(text):
        local = m.group().split("@", 1)[0]
        if local.startswith(".") or local.endswith(".") or ".." in local:
            continue
        yield Finding("email", m.start(), m.end(), m.group(), None, None, PATTERN)


def detect_ipv6(text: str) -> Iterator[Finding]:
    if "::" not in text and text.count(":") < 7:
        return
    for m in IPV6_RE.finditer(text):
        value = m.group()
        if "::" not in value and value.count(":") < 7:
            continue  # "10:30:00" is a time
        if value.strip(":") == "" or not any(c.isalnum() for c in value):
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield Finding("ip_address", m.start(), m.end(), value, None, "ipaddress", STRONG)
