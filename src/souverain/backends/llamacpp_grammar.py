"""JSON Schema -> GBNF grammar for llama.cpp, and a validator for the same subset.

The embedded model's tool-call arguments are generated under a grammar built from the function's
``parameters`` schema, so that they always parse and validate. Only what the grammar can enforce
is accepted; any other assertion keyword is refused (:class:`UnsupportedSchema`, which the API
answers with 400 ``unsupported_parameter``) instead of being silently ignored.

Enforced: ``type`` (one or a list), ``properties``, ``required`` (properties come in schema
order, required ones always, optional ones may be left out), ``enum``, ``const``, ``anyOf``,
local ``$ref`` (``#/$defs/...``, ``#/definitions/...``, recursion included), ``items``,
``minItems``, ``maxItems``, ``minLength``, ``maxLength``, and for integers ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` (built as digit-range rules).
``additionalProperties`` holds by construction (no other property is ever written).
Annotations are ignored (``title``, ``description``, ``default``, ``examples``, ``format``, ...).

The output is compact JSON with one space after ``:`` and ``,``: the grammar allows no other
whitespace, so a model cannot pad it. :func:`validate` checks a parsed value against the schema
(the gateway never returns arguments that do not validate).
"""

from __future__ import annotations

import json
from typing import Any

#: assertion keywords a grammar cannot enforce here: a schema using one is refused
REFUSED = frozenset(
    {
        "pattern",
        "patternProperties",
        "oneOf",
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "uniqueItems",
        "prefixItems",
        "additionalItems",
        "contains",
        "minContains",
        "maxContains",
        "multipleOf",
        "minProperties",
        "maxProperties",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$recursiveRef",
        "contentSchema",
    }
)
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_TYPE_SPECIFIC = {
    "string": ("minLength", "maxLength"),
    "integer": _BOUNDS,
    "number": _BOUNDS,
    "array": ("items", "minItems", "maxItems"),
    "object": ("properties", "required", "additionalProperties"),
}
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})

PRIMITIVES = {
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} '
    r"| [dD] [0-7] [0-9a-fA-F]{2}))",
    "string": r'"\"" char* "\""',
    "integer": r'"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": r'"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?',
    "boolean": r'"true" | "false"',
    "null": r'"null"',
    "value": "object | array | string | number | boolean | null",
    "object": r'"{" (string ": " value (", " string ": " value)*)? "}"',
    "array": r'"[" (value (", " value)*)? "]"',
}
_NEEDS = {
    "string": ("char",),
    "value": ("object", "array", "string", "number", "boolean", "null"),
    "object": ("string", "value"),
    "array": ("value",),
}


class UnsupportedSchema(ValueError):
    """A schema keyword the grammar cannot enforce (or a malformed schema)."""

    def __init__(self, keyword: str, path: str, why: str = ""):
        self.keyword, self.path = keyword, path
        where = f" at {path}" if path else ""
        super().__init__(
            why
            or f"the JSON Schema keyword {keyword!r}{where} is not supported on this backend: its "
            "grammar cannot enforce it (remove it, or use a backend that supports it)"
        )


def literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def dumps(value: Any) -> str:
    """JSON as the grammar writes it (``", "`` and ``": "``)."""
    return json.dumps(value, ensure_ascii=False)


# -- integer ranges ---------------------------------------------------------------------------------
def _same_length(lo: str, hi: str) -> list[str]:
    """Sequences matching the digit strings from ``lo`` to ``hi`` (same length)."""
    if len(lo) == 1:
        return [f"[{lo}-{hi}]" if lo != hi else f'"{lo}"']
    n = len(lo) - 1
    if lo[0] == hi[0]:
        return [f'"{lo[0]}" ({" | ".join(_same_length(lo[1:], hi[1:]))})']
    if lo[1:] == "0" * n and hi[1:] == "9" * n:
        return [f"[{lo[0]}-{hi[0]}] [0-9]{{{n}}}"]
    out = [f'"{lo[0]}" ({" | ".join(_same_length(lo[1:], "9" * n))})']
    a, b = int(lo[0]) + 1, int(hi[0]) - 1
    if a <= b:
        out.append(f"[{a}-{b}] [0-9]{{{n}}}")
    out.append(f'"{hi[0]}" ({" | ".join(_same_length("0" * n, hi[1:]))})')
    return out


def _naturals(lo: int, hi: int | None) -> list[str]:
    """Sequences for the integers ``lo..hi`` (``lo >= 0``; ``hi`` None: unbounded), without
    leading zeros."""
    out: list[str] = []
    digits = len(str(lo))
    while hi is None or digits <= len(str(hi)):
        start = max(lo, 10 ** (digits - 1) if digits > 1 else 0)
        end = 10**digits - 1 if hi is None else min(hi, 10**digits - 1)
        if hi is None and start == 10 ** (digits - 1) and digits > 1:
            out.append(f"[1-9] [0-9]{{{digits - 1},15}}")  # every longer number too
            break
        if start <= end:
            out += _same_length(str(start), str(end))
        if hi is None and digits >= 16:
            break
        digits += 1
    return out


def integer_range(lo: int | None, hi: int | None) -> str:
    """A GBNF expression for the integers in ``[lo, hi]`` (None: unbounded on that side)."""
    alts: list[str] = []
    if lo is None or lo < 0:  # the negative part: "-" and the naturals -hi'..-lo
        neg_hi = None if lo is None else -lo
        neg_lo = 1 if hi is None or hi >= 0 else -hi
        if neg_hi is None or neg_lo <= neg_hi:
            alts.append(f'"-" ({" | ".join(_naturals(neg_lo, neg_hi))})')
    if hi is None or hi >= 0:
        alts += _naturals(max(lo or 0, 0), hi)
    return " | ".join(f"({a})" for a in alts) if alts else ""


# -- the converter ----------------------------------------------------------------------------------
class GrammarBuilder:
    """Collects the rules of one grammar; :meth:`schema` returns a rule name for a schema."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}
        self._by_body: dict[str, str] = {}
        self._refs: dict[str, str] = {}
        self._root: dict[str, Any] = {}

    def primitive(self, name: str) -> str:
        if name not in self.rules:
            self.rules[name] = PRIMITIVES[name]
            for dep in _NEEDS.get(name, ()):
                self.primitive(dep)
        return name

    def rule(self, hint: str, body: str) -> str:
        """A named rule for ``body`` (one rule per distinct body)."""
        if body in self._by_body:
            return self._by_body[body]
        name = f"{hint}-{len(self.rules)}"
        self.rules[name] = body
        self._by_body[body] = name
        return name

    def text(self, root: str) -> str:
        return f"root ::= {root}\n" + "".join(f"{k} ::= {v}\n" for k, v in self.rules.items())

    def schema(self, schema: Any, path: str, root: dict[str, Any] | None = None) -> str:
        if root is not None:
            self._root = root
        if schema is True or schema == {}:
            return self.primitive("value")
        if not isinstance(schema, dict):
            raise UnsupportedSchema("", path, f"{path or 'the schema'} must be a JSON object")
        for key in schema:
            if key in REFUSED:
                raise UnsupportedSchema(key, path)
        if "$ref" in schema:
            return self._ref(schema["$ref"], path)
        if "const" in schema:
            return self.rule("const", literal(dumps(schema["const"])))
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list) or not values:
                raise UnsupportedSchema("enum", path, f"{path}: 'enum' must be a non-empty list")
            return self.rule("enum", " | ".join(literal(dumps(v)) for v in values))
        if "anyOf" in schema:
            return self._any_of(schema, path)
        types = schema.get("type")
        if types is None:
            types = self._implied_type(schema, path)
            if types is None:
                return self.primitive("value")
        if isinstance(types, list):
            if not types:
                raise UnsupportedSchema("type", path, f"{path}: 'type' must not be empty")
            names = [self._typed(schema, t, path) for t in types]
            return self.rule("alt", " | ".join(names))
        return self._typed(schema, types, path)

    def _implied_type(self, schema: dict[str, Any], path: str) -> str | None:
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema:
            return "array"
        for t in ("string", "integer", "array"):
            for key in _TYPE_SPECIFIC[t]:
                if key in schema:
                    raise UnsupportedSchema(
                        key, path, f"{path or 'the schema'}: {key!r} needs a 'type' next to it"
                    )
        return None

    def _ref(self, ref: Any, path: str) -> str:
        if ref in self._refs:
            return self._refs[ref]
        prefix = next((p for p in ("#/$defs/", "#/definitions/") if str(ref).startswith(p)), None)
        target = None
        if prefix is not None:
            target = (self._root.get(prefix[2:-1]) or {}).get(str(ref)[len(prefix) :])
        if target is None:
            raise UnsupportedSchema(
                "$ref", path, f"{path}: only local references (#/$defs/...) are supported"
            )
        name = f"ref-{len(self._refs)}"
        self._refs[ref] = name
        self.rules[name] = ""  # reserved: a recursive reference finds it
        self.rules[name] = self.schema(target, f"{path}.$ref")
        return name

    def _any_of(self, schema: dict[str, Any], path: str) -> str:
        options = schema["anyOf"]
        if not isinstance(options, list) or not options:
            raise UnsupportedSchema("anyOf", path, f"{path}: 'anyOf' must be a non-empty list")
        other = [k for k in ("type", *_BOUNDS, "properties", "items", "minLength") if k in schema]
        if other:
            raise UnsupportedSchema(
                "anyOf", path, f"{path}: 'anyOf' next to {other[0]!r} is not supported"
            )
        names = [self.schema(o, f"{path}.anyOf[{i}]") for i, o in enumerate(options)]
        return self.rule("any", " | ".join(names))

    def _typed(self, schema: dict[str, Any], t: Any, path: str) -> str:
        if t not in _TYPES:
            raise UnsupportedSchema("type", path, f"{path}: unknown type {t!r}")
        if t == "object":
            return self._object(schema, path)
        if t == "array":
            return self._array(schema, path)
        if t == "string":
            lo, hi = schema.get("minLength"), schema.get("maxLength")
            if lo is None and hi is None:
                return self.primitive("string")
            self.primitive("char")
            rep = f"{{{int(lo or 0)},{'' if hi is None else int(hi)}}}"
            return self.rule("string", f'"\\"" char{rep} "\\""')
        if t == "integer":
            lo, hi = _int_bounds(schema, path)
            if lo is None and hi is None:
                return self.primitive("integer")
            body = integer_range(lo, hi)
            if not body:
                raise UnsupportedSchema("minimum", path, f"{path}: no integer is in the range")
            return self.rule("int", body)
        if t == "number":
            for key in _BOUNDS:
                if key in schema:
                    raise UnsupportedSchema(
                        key,
                        path,
                        f"{path}: {key!r} on a number is not supported (only on "
                        "integers): its grammar cannot enforce it",
                    )
            return self.primitive("number")
        return self.primitive(t)

    def _object(self, schema: dict[str, Any], path: str) -> str:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        if not isinstance(props, dict) or not isinstance(required, list):
            raise UnsupportedSchema("properties", path, f"{path}: malformed 'properties'")
        names = list(props) + [r for r in required if r not in props]
        kv = {
            n: f"{literal(dumps(n) + ': ')} {self.schema(props.get(n, True), f'{path}.{n}')}"
            for n in names
        }
        req = [n for n in names if n in required]
        opt = [n for n in names if n not in required]
        if req:
            body = ' ", " '.join(kv[n] for n in req)
            body += "".join(f' (", " {kv[n]})?' for n in opt)
            return self.rule("obj", f'"{{" {body} "}}"')
        if not opt:
            return self.rule("obj", '"{}"')
        # none of them required: the first one written is not preceded by ", "
        alts = []
        for i, n in enumerate(opt):
            alts.append(kv[n] + "".join(f' (", " {kv[m]})?' for m in opt[i + 1 :]))
        inner = self.rule("props", " | ".join(f"({a})" for a in alts))
        return self.rule("obj", f'"{{" {inner}? "}}"')

    def _array(self, schema: dict[str, Any], path: str) -> str:
        item = self.schema(schema.get("items", True), f"{path}[]")
        lo, hi = int(schema.get("minItems") or 0), schema.get("maxItems")
        hi = None if hi is None else int(hi)
        if hi is not None and hi < lo:
            raise UnsupportedSchema("maxItems", path, f"{path}: maxItems < minItems")
        if hi == 0:
            return self.rule("arr", '"[]"')
        more_hi = "" if hi is None else str(hi - 1)
        more = f'(", " {item}){{{max(lo - 1, 0)},{more_hi}}}'
        body = f"{item} {more}" if lo >= 1 else f"({item} {more})?"
        return self.rule("arr", f'"[" {body} "]"')


def _int_bounds(schema: dict[str, Any], path: str) -> tuple[int | None, int | None]:
    lo = hi = None
    for key in _BOUNDS:
        v = schema.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise UnsupportedSchema(key, path, f"{path}: {key!r} must be a number")
        if key == "minimum":
            lo = _ceil(v) if lo is None else max(lo, _ceil(v))
        elif key == "exclusiveMinimum":
            b = int(v) + 1 if v == int(v) else _ceil(v)
            lo = b if lo is None else max(lo, b)
        elif key == "maximum":
            hi = _floor(v) if hi is None else min(hi, _floor(v))
        else:
            b = int(v) - 1 if v == int(v) else _floor(v)
            hi = b if hi is None else min(hi, b)
    return lo, hi


def _ceil(v: float) -> int:
    return int(v) if v == int(v) or v < 0 else int(v) + 1


def _floor(v: float) -> int:
    return int(v) if v == int(v) or v > 0 else int(v) - 1


# -- validation -----------------------------------------------------------------------------------
def _is_type(value: Any, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }.get(t, False)


def _same(a: Any, b: Any) -> bool:
    """JSON equality (``True`` is not ``1``; ``1`` is ``1.0``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or (
        _is_type(a, "number") and _is_type(b, "number") and a == b
    )


class JsonBrackets:
    """Reads JSON text one character at a time and tells the brackets that structure it apart
    from those inside strings (escapes included): JSON mode's end of value and the tool calls'
    boundaries both follow it."""

    def __init__(self) -> None:
        self.in_string = self.escape = False

    def step(self, ch: str) -> str:
        """``ch`` when it is one of ``{}[]`` outside a string, else ``""``."""
        if self.in_string:
            if self.escape:
                self.escape = False
            elif ch == "\\":
                self.escape = True
            elif ch == '"':
                self.in_string = False
            return ""
        if ch == '"':
            self.in_string = True
            return ""
        return ch if ch in "{}[]" else ""


def validate(value: Any, schema: Any, root: dict[str, Any] | None = None, path: str = "") -> str:
    """Why ``value`` does not validate against ``schema`` (the subset above), or ``""``."""
    root = schema if root is None else root
    if schema is True or not isinstance(schema, dict):
        return ""
    where = path or "the arguments"
    if "$ref" in schema:
        ref = str(schema["$ref"])
        key = "$defs" if ref.startswith("#/$defs/") else "definitions"
        target = (root.get(key) or {}).get(ref.rsplit("/", 1)[-1], True)
        return validate(value, target, root, path)
    if "const" in schema and not _same(value, schema["const"]):
        return f"{where} is not {schema['const']!r}"
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        return f"{where} is not one of the enum values"
    if "anyOf" in schema and all(validate(value, o, root, path) for o in schema["anyOf"]):
        return f"{where} matches none of anyOf"
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_is_type(value, t) for t in types):
            return f"{where} is not of type {'/'.join(map(str, types))}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{where} is shorter than minLength"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where} is longer than maxLength"
    if _is_type(value, "number"):
        bounds = {
            "minimum": value < schema.get("minimum", value),
            "maximum": value > schema.get("maximum", value),
            "exclusiveMinimum": "exclusiveMinimum" in schema
            and value <= schema["exclusiveMinimum"],
            "exclusiveMaximum": "exclusiveMaximum" in schema
            and value >= schema["exclusiveMaximum"],
        }
        for key, bad in bounds.items():
            if bad:
                return f"{where} breaks {key}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{where} has fewer items than minItems"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{where} has more items than maxItems"
        for i, item in enumerate(value):
            if why := validate(item, schema.get("items", True), root, f"{path}[{i}]"):
                return why
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                return f"{where} lacks the required property {name!r}"
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub = props.get(name, extra)
            if sub is False:
                return f"{where} has the property {name!r}, which is not allowed"
            if why := validate(item, sub, root, f"{path}.{name}" if path else name):
                return why
    return ""
