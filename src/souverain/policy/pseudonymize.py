"""Reversible pseudonymisation of one request.

Each detected value is replaced by a typed placeholder, ``<TYPE_N>``: ``<EMAIL_1>``,
``<PHONE_2>``, ``<NATIONAL_ID_FR_1>``, ``<COMPANY_ID_FR_1>``, ``<PERSON_NAME_3>``, ... The same
value (compared after removing formatting: ``FR76 3000...`` and ``fr763000...`` are one IBAN)
gets the same placeholder everywhere in the request; different values get different numbers.
Placeholders hold only ``<``, ``>``, capitals, digits and ``_``: no quote or backslash, so JSON
strings (tool-call arguments) stay valid, and models copy them back reliably.

The mapping lives only in the :class:`Pseudonymizer` (one per request, in memory). Generated
names never collide with text the client wrote: :meth:`Pseudonymizer.reserve` is given every
string of the request first, and no name the client wrote in any accepted spelling (bracketed
or bare, any case) is generated. ``restore`` puts the original values back in the model's
answer wherever one of the spellings of :mod:`souverain.policy.placeholders` stands (``<EMAIL_1>``,
``<email_1>``, ``< EMAIL 1 >``, ``&lt;EMAIL_1&gt;``, bare ``EMAIL_1``, ...), for generated names
only. :class:`StreamRestorer` does the same on a stream of chunks, holding back only a tail that
could still become a placeholder.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from souverain.detect import Finding, Scanner
from souverain.detect.messages import iter_prompt_texts, iter_texts, map_prompt, map_texts
from souverain.policy.placeholders import (
    SPELLING_RE,
    canonical,
    could_grow,
    max_spelling,
    names_in,
    starts,
)

#: the accepted spellings of a placeholder (see :mod:`souverain.policy.placeholders`)
PLACEHOLDER_RE = SPELLING_RE
#: a character that glues a bare name to the text before it (not a placeholder then)
_GLUES_RE = re.compile(r"[\w\\]")
_NON_ALNUM_RE = re.compile(r"[\W_]+")
_SPACES_RE = re.compile(r"\s+")
_TEXTUAL = frozenset({"person_name", "email", "confidential_marker", "secret"})
_WITH_COUNTRY = frozenset({"national_id", "company_id"})


def label_for(finding: Finding) -> str:
    """The placeholder's type part: ``EMAIL``, ``NATIONAL_ID_FR``, ``CONFIDENTIAL_MARKER``..."""
    label = finding.type.upper()
    if finding.type in _WITH_COUNTRY and finding.country:
        label += "_" + finding.country.upper()
    return label


def _normal(finding: Finding) -> str:
    if finding.type in _TEXTUAL:
        return _SPACES_RE.sub(" ", finding.text).strip().casefold()
    return _NON_ALNUM_RE.sub("", finding.text).upper()


class Pseudonymizer:
    """Placeholders for one request. Not thread-safe; build one per request."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}  # "EMAIL_1" -> first original spelling
        self._counters: Counter[str] = Counter()
        self._reserved: set[str] = set()  # names the client wrote: never generated
        self._prefixes: frozenset[str] | None = None

    def __len__(self) -> int:
        """How many distinct values it replaced."""
        return len(self._originals)

    def __bool__(self) -> bool:
        # Always true: with __len__ alone an empty pseudonymizer was falsy, and `pz or
        # Pseudonymizer()` / `if pz` silently swapped it or skipped pseudonymisation (twice).
        return True

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder (``<EMAIL_1>``) -> original value. Sensitive: never log it."""
        return {f"<{k}>": v for k, v in self._originals.items()}

    def reserve(self, texts: Iterable[str]) -> None:
        """Never generate a name that one of ``texts`` (the request's strings, before any
        placeholder is generated) holds in an accepted spelling: a client's ``<IBAN_1>``,
        ``iban_1`` or ``&lt;IBAN_1&gt;`` stays the client's, and the answer's is left alone."""
        for text in texts:
            self._reserved |= names_in(text)

    def reserve_names(self, names: Iterable[str]) -> None:
        """Never generate these names (canonical: ``IBAN_1``)."""
        self._reserved.update(names)

    def placeholder(self, finding: Finding, context: str = "") -> str:
        label = label_for(finding)
        key = (label, _normal(finding))
        name = self._by_value.get(key)
        if name is None:
            while True:
                self._counters[label] += 1
                name = f"{label}_{self._counters[label]}"
                # never reuse a placeholder that the client itself wrote
                if name not in self._reserved and f"<{name}>" not in context:
                    break
            self._by_value[key] = name
            self._originals[name] = finding.text
            self._prefixes = None
        return f"<{name}>"

    def pseudonymize(self, text: str, findings: Iterable[Finding]) -> str:
        """``text`` with each finding (non-overlapping, offsets into ``text``) replaced."""
        out: list[str] = []
        pos = 0
        for f in sorted(findings, key=lambda f: f.start):
            if f.start < pos:
                continue
            out.append(text[pos : f.start])
            out.append(self.placeholder(f, text))
            pos = f.end
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str, *, json_escape: bool = False, before: str = "") -> str:
        """Put the original values back. ``json_escape``: the text is the inside of a JSON
        string (tool-call arguments), so originals are escaped for it. ``before``: the
        character that precedes ``text`` (a stream's part already sent), so that a bare name
        touching it is not taken for a placeholder."""
        if not self._originals or not any(c in text for c in "<&_\\"):
            return text
        glued = bool(before) and _GLUES_RE.match(before) is not None

        def sub(m: re.Match[str]) -> str:
            if glued and m.start() == 0 and m.group(2):
                return m.group()
            original = self._originals.get(canonical(m.group(1) or m.group(2)))
            if original is None:
                return m.group()
            return json.dumps(original)[1:-1] if json_escape else original

        return PLACEHOLDER_RE.sub(sub, text)

    def restore_json(self, arguments: str) -> str:
        """Restore inside a JSON document (tool-call arguments) keeping it valid JSON."""
        return self.restore(arguments, json_escape=True)

    def stream_restorer(self, *, json_escape: bool = False) -> StreamRestorer:
        return StreamRestorer(self, json_escape=json_escape)

    def longest_placeholder(self) -> int:
        """An upper bound on the length of any accepted spelling of any placeholder."""
        return max((max_spelling(k) for k in self._originals), default=0)

    def could_start(self, tail: str) -> bool:
        """Could ``tail`` (from a possible start to the end of the text so far) still grow
        into an accepted spelling of a generated placeholder?"""
        if self._prefixes is None:
            self._prefixes = frozenset(k[:i] for k in self._originals for i in range(len(k) + 1))
        return could_grow(tail, self._originals.keys(), self._prefixes)


class StreamRestorer:
    """Restores placeholders in a stream of chunks (placeholders may be split across chunks).

    ``feed(chunk)`` returns what can be sent now; ``flush()`` the rest at the end. The output
    joined is exactly ``pseudonymizer.restore(whole_text)``; only a tail that could still be
    the beginning of a known placeholder is held back.
    """

    def __init__(self, pseudonymizer: Pseudonymizer, *, json_escape: bool = False):
        self.p = pseudonymizer
        self.json_escape = json_escape
        self._buf = ""
        self._prev = ""  # the last character sent

    def feed(self, chunk: str) -> str:
        buf = self._buf + chunk
        if not self.p._originals:
            self._buf = ""
            return buf
        hold = len(buf)
        for i in starts(buf, max(0, len(buf) - self.p.longest_placeholder())):
            if self.p.could_start(buf[i:]):
                hold = i
                break
        self._buf = buf[hold:]
        return self._release(buf[:hold])

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return self._release(rest)

    def _release(self, text: str) -> str:
        # restored after the last character already sent: a bare name touching it (``MY_``
        # sent, then ``IBAN_1``) is not a placeholder, exactly as in the whole text
        prev = self._prev
        if text:
            self._prev = text[-1]
        return self.p.restore(text, json_escape=self.json_escape, before=prev)


@dataclass
class PseudonymizedRequest:
    messages: Any  # the new messages (chat) or prompt (completions)
    findings: list[Finding]  # every finding replaced, over all texts
    pseudonymizer: Pseudonymizer


class TextRewriter:
    """Rewrites the texts of one request with one pseudonymizer, scanning each distinct text
    once. ``found``: every finding seen; ``replaced``: those of ``categories`` (all when None),
    which became placeholders. ``scan`` replaces ``scanner.scan`` when the caller already holds
    scan results (the gateway scans once for placement, then rewrites)."""

    def __init__(
        self,
        scanner: Scanner | None,
        categories: Iterable[str] | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        *,
        scan: Callable[[str], list[Finding]] | None = None,
    ) -> None:
        if scan is None:
            assert scanner is not None
            scan = scanner.scan
        self._scan_text = scan
        self.categories = frozenset(categories) if categories is not None else None
        self.pseudonymizer = pseudonymizer if pseudonymizer is not None else Pseudonymizer()
        self.found: list[Finding] = []
        self.replaced: list[Finding] = []
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        out = self._cache.get(text)
        if out is None:
            found = self._scan_text(text) if text else []
            self.found.extend(found)
            cats = self.categories
            hits = [f for f in found if cats is None or f.category in cats]
            self.replaced.extend(hits)
            out = self.pseudonymizer.pseudonymize(text, hits) if hits else text
            self._cache[text] = out
        return out

    text = __call__


def pseudonymize_messages(
    messages: list[dict[str, Any]],
    scanner: Scanner,
    *,
    categories: Iterable[str] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> PseudonymizedRequest:
    """Pseudonymise every upstream text of a chat request (all roles, text parts, tool-call
    arguments). ``categories``: only findings of these (``personal_data``, ``secret``,
    ``confidential``); default all. The input is left untouched."""
    rewrite = TextRewriter(scanner, categories, pseudonymizer)
    rewrite.pseudonymizer.reserve(iter_texts(messages))
    new = map_texts(messages, rewrite)
    return PseudonymizedRequest(new, rewrite.replaced, rewrite.pseudonymizer)


def pseudonymize_prompt(
    prompt: str | list[str],
    scanner: Scanner,
    *,
    categories: Iterable[str] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> PseudonymizedRequest:
    """The same for a /v1/completions ``prompt`` (a string or a list of strings)."""
    rewrite = TextRewriter(scanner, categories, pseudonymizer)
    rewrite.pseudonymizer.reserve(iter_prompt_texts(prompt))
    new = map_prompt(prompt, rewrite)
    return PseudonymizedRequest(new, rewrite.replaced, rewrite.pseudonymizer)


__all__ = [
    "PLACEHOLDER_RE",
    "PseudonymizedRequest",
    "Pseudonymizer",
    "StreamRestorer",
    "TextRewriter",
    "iter_prompt_texts",
    "iter_texts",
    "label_for",
    "pseudonymize_messages",
    "pseudonymize_prompt",
]
