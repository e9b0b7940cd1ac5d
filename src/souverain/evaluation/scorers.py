"""Scorers: how a model's output for one suite item becomes a score in [0, 1] with details.

Each scorer declares its options (a pydantic model, extras forbidden), checks an item's
``expected`` value when the suite is loaded, and scores output text. Scoring never raises on model
output: whatever the model wrote (nothing, prose, truncated or fenced JSON, trailing garbage) gets
a score and details saying what was understood. Registry: :data:`SCORERS` (name -> scorer; plug-ins
through the ``souverain.scorers`` entry points).
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from souverain.evaluation.countries import country_code, fold
from souverain.plugins import Registry


@dataclass(frozen=True)
class ItemScore:
    score: float
    details: dict[str, Any] = field(default_factory=dict)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scorer:
    """The contract: ``options`` model, ``check_expected`` at load time, ``score`` per output."""

    name: ClassVar[str]
    options: ClassVar[type[Options]] = Options

    def check_expected(self, expected: Any, options: Any) -> str | None:
        """An error message if ``expected`` cannot be scored with these options, else ``None``."""
        return None

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        raise NotImplementedError


# --- text helpers -------------------------------------------------------------------------------


def _is_text(expected: Any) -> bool:
    return isinstance(expected, str)


def _is_number(expected: Any) -> bool:
    return isinstance(expected, int | float) and not isinstance(expected, bool)


_NUMBER = re.compile(r"[-+−]?\d(?:[\d \u00a0\u202f'.,]*\d)?")


def parse_number(text: str) -> float | None:
    """The first number in ``text``, European or English spelling.

    Spaces and apostrophes group thousands. With both ``.`` and ``,`` present the later one is the
    decimal mark; one kind repeated groups thousands; a single ``.`` or ``,`` is the decimal mark.
    """
    for match in _NUMBER.finditer(text):
        raw = match.group().replace("−", "-")
        raw = re.sub(r"[ \u00a0\u202f']", "", raw)
        dots, commas = raw.count("."), raw.count(",")
        if dots and commas:
            dec = "." if raw.rfind(".") > raw.rfind(",") else ","
            raw = raw.replace("," if dec == "." else ".", "").replace(dec, ".")
        elif dots > 1 or commas > 1:
            raw = raw.replace(".", "").replace(",", "")
        else:
            raw = raw.replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            continue
        if math.isfinite(value):
            return value
    return None


_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_EU_DATE = re.compile(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})")


def normalize_date(text: str) -> str | None:
    """ISO ``YYYY-MM-DD`` from ``1980-03-07``, ``07/03/1980``, ``7.3.1980`` (day first), else None."""
    for pattern, order in ((_ISO_DATE, (0, 1, 2)), (_EU_DATE, (2, 1, 0))):
        m = pattern.search(text)
        if m:
            parts = [int(g) for g in m.groups()]
            try:
                return datetime.date(parts[order[0]], parts[order[1]], parts[order[2]]).isoformat()
            except ValueError:
                continue
    return None


def _compact(text: str) -> str:
    return re.sub(r"[\s\-./_]", "", text).upper()


def _text(text: str) -> str:
    return fold(text).strip(" .,;:!?\"'`")


FieldNorm = Literal["text", "exact", "compact", "date", "country", "number"]


def normalize_field(value: Any, how: FieldNorm) -> str | None:
    """A field value in comparable form; ``None`` for absent (null, empty, "null", "n/a")."""
    if value is None or isinstance(value, dict | list):
        return None if value in (None, [], {}) else json.dumps(value, sort_keys=True)
    text = str(value).strip()
    if not text or fold(text) in ("null", "none", "n/a", "na", "-", "unknown", "?"):
        return None
    if how == "exact":
        return text
    if how == "compact":
        return _compact(text)
    if how == "date":
        return normalize_date(text) or _text(text)
    if how == "country":
        return country_code(text) or _text(text)
    if how == "number":
        number = parse_number(text)
        return repr(number) if number is not None else _text(text)
    return _text(text)


# --- JSON extraction ----------------------------------------------------------------------------

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.S)
_MAX_STARTS = 32


def _loads_object(text: str) -> dict[str, Any] | None:
    for candidate in (text, re.sub(r",\s*([}\]])", r"\1", text)):
        try:
            value = json.loads(candidate)
        except Exception:  # malformed, too deep, ...: not an object
            continue
        if isinstance(value, dict):
            return value
    return None


def _scan(text: str, start: int) -> tuple[int | None, list[int], str, bool]:
    """Walk from the ``{`` at ``start``: (index of its closing brace or None, top-level comma
    positions, open brackets at the end, whether the end is inside a string)."""
    stack: list[str] = []
    commas: list[int] = []
    in_string = escaped = False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]":
            if not stack or (c == "}") != (stack[-1] == "{"):
                return None, commas, "", False  # mismatched: not JSON from here
            stack.pop()
            if not stack:
                return i, commas, "", False
        elif c == "," and len(stack) == 1:
            commas.append(i)
    return None, commas, "".join(stack), in_string


def _repair(text: str, commas: list[int], stack: str, in_string: bool) -> dict[str, Any] | None:
    """A truncated object: close what is open, else cut back to the last complete member."""
    closers = "".join("}" if c == "{" else "]" for c in reversed(stack))
    if not in_string:
        body = text.rstrip()
        if not body.endswith((":", ",")):
            found = _loads_object(body + closers)
            if found is not None:
                return found
    for pos in reversed(commas):
        found = _loads_object(text[:pos] + "}")
        if found is not None:
            return found
    return None


def extract_json_object(text: str) -> tuple[dict[str, Any] | None, str]:
    """The first JSON object in model output, and how it was found.

    ``how`` is ``clean`` (the whole output), ``fenced`` (inside a ``` fence), ``embedded`` (a
    balanced object inside prose or before trailing garbage), ``repaired`` (truncated; closed or
    cut back to its last complete member) or ``none``.
    """
    if not isinstance(text, str):
        return None, "none"
    whole = _loads_object(text.strip())
    if whole is not None:
        return whole, "clean"
    for m in _FENCE.finditer(text):
        found, _ = _find_object(m.group(1))
        if found is not None:
            return found, "fenced"
    return _find_object(text)


def _find_object(text: str) -> tuple[dict[str, Any] | None, str]:
    truncated: tuple[int, list[int], str, bool] | None = None
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_STARTS:
        tries += 1
        end, commas, stack, in_string = _scan(text, start)
        if end is not None:
            found = _loads_object(text[start : end + 1])
            if found is not None:
                return found, "embedded"
        elif stack and truncated is None:
            truncated = (start, commas, stack, in_string)
        start = text.find("{", start + 1)
    if truncated is not None:
        s, commas, stack, in_string = truncated
        found = _repair(text[s:], [c - s for c in commas], stack, in_string)
        if found is not None:
            return found, "repaired"
    return None, "none"


# --- scorers ------------------------------------------------------------------------------------


class ExactOptions(Options):
    strip: bool = True
    normalize: bool = False  # fold case, accents and whitespace before comparing


class Exact(Scorer):
    name = "exact"
    options = ExactOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        return None if _is_text(expected) or _is_number(expected) else "must be a string or number"

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        want, got = str(expected), output
        if options.strip:
            want, got = want.strip(), got.strip()
        if options.normalize:
            want, got = fold(want), fold(got)
        return ItemScore(float(want == got), {"output": got[:200]})


class Contains(Scorer):
    """Each expected string appears in the output, folded; a list scores the share found."""

    name = "contains"

    def check_expected(self, expected: Any, options: Any) -> str | None:
        if _is_text(expected) and expected.strip():
            return None
        if isinstance(expected, list) and expected and all(_is_text(e) for e in expected):
            return None
        return "must be a non-empty string or a list of strings"

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        wanted = [expected] if isinstance(expected, str) else list(expected)
        got = fold(output)
        found = [w for w in wanted if fold(w) in got]
        missing = [w for w in wanted if w not in found]
        return ItemScore(len(found) / len(wanted), {"missing": missing})


class RegexOptions(Options):
    ignore_case: bool = True
    fullmatch: bool = False  # the whole (stripped) output must match


class Regex(Scorer):
    """``expected`` is a regular expression the output must match."""

    name = "regex"
    options = RegexOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        if not _is_text(expected):
            return "must be a regular expression (string)"
        try:
            re.compile(expected)
        except re.error as exc:
            return f"not a valid regular expression: {exc}"
        return None

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        flags = re.I if options.ignore_case else 0
        text = output.strip()
        m = (re.fullmatch if options.fullmatch else re.search)(expected, text, flags)
        return ItemScore(float(m is not None), {"match": m.group()[:200] if m else None})


class LabelOptions(Options):
    labels: list[str] = Field(min_length=2)
    aliases: dict[str, list[str]] = Field(default_factory=dict)  # label -> other spellings


def _label_form(text: str) -> str:
    return re.sub(r"[_\-]+", " ", fold(text))


class Label(Scorer):
    """Classification: the first label the output mentions (whole words, folded) is its answer."""

    name = "label"
    options = LabelOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        if expected not in options.labels:
            return f"must be one of the suite's labels {options.labels}"
        return None

    def predict(self, output: str, options: Any) -> str | None:
        text = _label_form(output)
        best: tuple[int, int, str] | None = None  # (position, -length, label)
        for label in options.labels:
            for spelling in [label, *options.aliases.get(label, [])]:
                form = _label_form(spelling)
                m = re.search(rf"(?<![a-z0-9]){re.escape(form)}(?![a-z0-9])", text)
                if m and (best is None or (m.start(), -len(form)) < best[:2]):
                    best = (m.start(), -len(form), label)
        return best[2] if best else None

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        predicted = self.predict(output, options)
        return ItemScore(float(predicted == expected), {"predicted": predicted})


class JsonFieldsOptions(Options):
    fields: list[str] = Field(min_length=1)
    normalize: dict[str, FieldNorm] = Field(default_factory=dict)  # field -> how; default text


class JsonFields(Scorer):
    """Extraction: precision, recall and F1 over the named fields of the first JSON object.

    Per field: both present and equal after normalisation -> true positive; present in the output
    but absent or different in ``expected`` -> false positive; present in ``expected`` but missing
    or different in the output -> false negative. The item's score is its F1 (1.0 when neither side
    has any field).
    """

    name = "json_fields"
    options = JsonFieldsOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        if not isinstance(expected, dict):
            return "must be an object with the suite's fields"
        unknown = sorted(set(expected) - set(options.fields))
        return f"unknown fields {unknown}, the suite's are {options.fields}" if unknown else None

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        obj, how = extract_json_object(output)
        got_obj = obj or {}
        tp = fp = fn = 0
        fields: dict[str, str] = {}
        for name in options.fields:
            how_field = options.normalize.get(name, "text")
            want = normalize_field(expected.get(name), how_field)
            got = normalize_field(got_obj.get(name), how_field)
            if want is not None and got == want:
                tp, fields[name] = tp + 1, "correct"
            elif want is None and got is None:
                fields[name] = "absent"
            else:
                fp += got is not None
                fn += want is not None
                fields[name] = "missing" if got is None else "spurious" if want is None else "wrong"
        precision = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
        recall = tp / (tp + fn) if tp + fn else (1.0 if not fp else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return ItemScore(
            f1,
            {"json": how, "precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn}
            | {"fields": fields},
        )


class NumericOptions(Options):
    abs_tol: float = Field(0.0, ge=0)
    rel_tol: float = Field(0.0, ge=0)


class Numeric(Scorer):
    """The first number in the output is within ``max(abs_tol, rel_tol * |expected|)``."""

    name = "numeric"
    options = NumericOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        return None if _is_number(expected) else "must be a number"

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        got = parse_number(output)
        if got is None:
            return ItemScore(0.0, {"parsed": None})
        tol = max(options.abs_tol, options.rel_tol * abs(expected))
        return ItemScore(
            float(abs(got - expected) <= tol), {"parsed": got, "error": got - expected}
        )


class RecallOptions(Options):
    k: int = Field(3, ge=1, le=100)
    #: document id -> text: what is searched (embedding models embed it; chat models get it in
    #: the prompt)
    corpus: dict[str, str] = Field(min_length=2)


class RecallAtK(Scorer):
    """Retrieval: the output ranks document ids (the first k named, in order of appearance);
    the score is the share of the relevant ids (``expected``: one id or a list) among them."""

    name = "recall_at_k"
    options = RecallOptions

    def check_expected(self, expected: Any, options: Any) -> str | None:
        ids = [expected] if isinstance(expected, str) else expected
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            return "must be a document id or a list of them"
        unknown = [i for i in ids if i not in options.corpus]
        return f"unknown document id(s) {unknown}" if unknown else None

    def score(self, output: str, expected: Any, options: Any) -> ItemScore:
        ids = sorted(options.corpus, key=len, reverse=True)  # doc-10 before doc-1
        pattern = "|".join(re.escape(i) for i in ids)
        ranked: list[str] = []
        for m in re.finditer(rf"(?<![\w-])({pattern})(?![\w-])", output):
            if m.group(1) not in ranked:
                ranked.append(m.group(1))
        top = ranked[: options.k]
        relevant = [expected] if isinstance(expected, str) else list(expected)
        hits = sum(1 for r in relevant if r in top)
        return ItemScore(hits / len(relevant), {"ranked": top})


BUILTIN: dict[str, Scorer] = {
    s.name: s for s in (Exact(), Contains(), Regex(), Label(), JsonFields(), Numeric(), RecallAtK())
}


def _scorer(name: str, obj: object) -> tuple[str, Scorer]:
    scorer = obj() if isinstance(obj, type) else obj
    if not isinstance(scorer, Scorer):
        raise TypeError(f"entry point souverain.scorers:{name} is not a Scorer")
    return scorer.name, scorer


#: Scorers by name: the built-ins above, then the ``souverain.scorers`` entry points (a
#: :class:`Scorer` subclass or instance), loaded on first use (:mod:`souverain.plugins`).
SCORERS: Registry[Scorer] = Registry(
    "souverain.scorers", "souverain.evaluation.scorers:BUILTIN", entry_point=_scorer
)


def score_output(scorer: str, options: Any, expected: Any, output: Any) -> ItemScore:
    """Score one output; never raises on the output (a scorer bug scores 0 with the error)."""
    text = output if isinstance(output, str) else "" if output is None else str(output)
    try:
        return SCORERS[scorer].score(text, expected, options)
    except Exception as exc:  # the contract: model output never crashes a bench
        return ItemScore(0.0, {"error": f"{type(exc).__name__}: {exc}"})
