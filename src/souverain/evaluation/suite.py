"""Task suites: a JSONL file of items plus a YAML sidecar header naming the scorer.

    kyc-extract.jsonl        one item per line: {"id", "messages", "expected", "metadata"?}
    kyc-extract.suite.yaml   name, description, scorer, options, generation

:func:`load_suite` takes a built-in name (``src/souverain/evaluation/suites/``) or a path to either
file, validates everything and raises :class:`SuiteError` naming the file, line and field:
``kyc-extract.jsonl:17: messages[1].role: Input should be 'system', 'user', ...``.
Format reference: docs/bench.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from souverain.evaluation.scorers import SCORERS, ItemScore, score_output

HEADER_SUFFIX = ".suite.yaml"
ITEMS_SUFFIX = ".jsonl"


class SuiteError(ValueError):
    """A suite that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class SuiteItem:
    id: str
    messages: list[dict[str, Any]]
    expected: Any
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    scorer: str
    options: dict[str, Any]
    generation: dict[str, Any]
    items: list[SuiteItem]
    description: str = ""
    source: str = ""  # the header's path, or "builtin:<name>"
    digest: str = ""  # sha256 of header + items bytes: results on the same suite compare
    parsed_options: Any = None  # the scorer's validated options model

    def score(self, item: SuiteItem, output: Any) -> ItemScore:
        return score_output(self.scorer, self.parsed_options, item.expected, output)


# --- wire models (extras forbidden: a typo is an error, not a silent default) -------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Generation(_Strict):
    max_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: list[str] = Field(default_factory=list, max_length=4)
    response_format: dict[str, Any] | None = None
    seed: int | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_call_id, ... pass through
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]]


class Header(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    scorer: str
    options: dict[str, Any] = Field(default_factory=dict)
    generation: Generation = Field(default_factory=Generation)
    # shared turns (instructions, few-shot examples) put before every item's own messages
    prefix_messages: list[_Message] = Field(default_factory=list)


class _Item(_Strict):
    id: str = Field(min_length=1)
    messages: list[_Message] = Field(min_length=1)
    expected: StrictInt | StrictFloat | str | list[str] | dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "int", "float", "list[str]", "dict[str,any]") or "[" in str(part):
            continue  # union branch names add nothing for the reader
        else:
            out += ("." if out else "") + str(part)
    return out or "(item)"


def _errors(where: str, exc: ValidationError) -> SuiteError:
    seen: list[str] = []
    for err in exc.errors():
        line = f"{where}: {_loc(err['loc'])}: {err['msg']}"
        if line not in seen:
            seen.append(line)
    return SuiteError("\n".join(seen[:5]))


# --- locating files ----------------------------------------------------------------------------


def builtin_suites() -> list[str]:
    """Names of the suites shipped with the package."""
    root = resources.files("souverain.evaluation") / "suites"
    if not root.is_dir():
        return []
    return sorted(
        p.name[: -len(HEADER_SUFFIX)] for p in root.iterdir() if p.name.endswith(HEADER_SUFFIX)
    )


def _pair(path: Path) -> tuple[Path, Path]:
    name = path.name
    if name.endswith(HEADER_SUFFIX):
        return path, path.with_name(name[: -len(HEADER_SUFFIX)] + ITEMS_SUFFIX)
    if name.endswith(ITEMS_SUFFIX):
        return path.with_name(name[: -len(ITEMS_SUFFIX)] + HEADER_SUFFIX), path
    raise SuiteError(f"{path}: a suite is a <name>{ITEMS_SUFFIX} file with a <name>{HEADER_SUFFIX}")


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, or the suite at a path (either of its two files)."""
    text = str(name_or_path)
    if text in builtin_suites() and not Path(text).exists():
        root = resources.files("souverain.evaluation") / "suites"
        header = root / f"{text}{HEADER_SUFFIX}"
        items = root / f"{text}{ITEMS_SUFFIX}"
        return parse_suite(
            header.read_bytes(),
            items.read_bytes(),
            header_name=header.name,
            items_name=items.name,
            source=f"builtin:{text}",
        )
    path = Path(text)
    if not path.exists() and not text.endswith((HEADER_SUFFIX, ITEMS_SUFFIX)):
        raise SuiteError(
            f"{text}: no such suite file and not a built-in suite "
            f"(built-in: {', '.join(builtin_suites()) or 'none'})"
        )
    header_path, items_path = _pair(path)
    for p in (header_path, items_path):
        if not p.is_file():
            raise SuiteError(
                f"{p}: file not found (a suite needs both {header_path.name} and {items_path.name})"
            )
    return parse_suite(
        header_path.read_bytes(),
        items_path.read_bytes(),
        header_name=str(header_path),
        items_name=str(items_path),
        source=str(header_path),
    )


# --- parsing ----------------------------------------------------------------------------------


def parse_header(data: bytes, where: str) -> tuple[Header, Any]:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SuiteError(
            f"{where}: the header must be a mapping (name, scorer, options, generation)"
        )
    try:
        header = Header.model_validate(raw)
    except ValidationError as exc:
        raise _errors(where, exc) from None
    if header.scorer not in SCORERS:
        raise SuiteError(
            f"{where}: scorer: unknown scorer {header.scorer!r} (known: {', '.join(SCORERS)})"
        )
    try:
        options = SCORERS[header.scorer].options.model_validate(header.options)
    except ValidationError as exc:
        raise _errors(f"{where}: options", exc) from None
    return header, options


def parse_suite(
    header_bytes: bytes,
    items_bytes: bytes,
    *,
    header_name: str,
    items_name: str,
    source: str = "",
) -> Suite:
    header, options = parse_header(header_bytes, header_name)
    scorer = SCORERS[header.scorer]
    prefix = [m.model_dump(exclude_none=True) for m in header.prefix_messages]
    items: list[SuiteItem] = []
    seen: dict[str, int] = {}
    try:
        lines = items_bytes.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{items_name}: not UTF-8: {exc}") from None
    for number, line in enumerate(lines, start=1):
        where = f"{items_name}:{number}"
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(raw, dict):
            raise SuiteError(f"{where}: an item must be a JSON object")
        try:
            item = _Item.model_validate(raw)
        except ValidationError as exc:
            raise _errors(where, exc) from None
        if item.id in seen:
            raise SuiteError(
                f"{where}: id: duplicate id {item.id!r} (first on line {seen[item.id]})"
            )
        seen[item.id] = number
        problem = scorer.check_expected(item.expected, options)
        if problem:
            raise SuiteError(f"{where}: expected: {problem}")
        items.append(
            SuiteItem(
                id=item.id,
                messages=prefix + [m.model_dump(exclude_none=True) for m in item.messages],
                expected=item.expected,
                metadata=item.metadata,
            )
        )
    if not items:
        raise SuiteError(f"{items_name}: no items")
    digest = hashlib.sha256(header_bytes + b"\0" + items_bytes).hexdigest()
    return Suite(
        name=header.name,
        scorer=header.scorer,
        options=options.model_dump(),
        generation=header.generation.model_dump(exclude_none=True),
        items=items,
        description=header.description,
        source=source,
        digest=digest,
        parsed_options=options,
    )


def score(suite: Suite, item: SuiteItem, output_text: Any) -> ItemScore:
    """Score one model output for one item of the suite (never raises on the output)."""
    return suite.score(item, output_text)
