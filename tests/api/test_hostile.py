"""Hostile bodies: every one is an OpenAI-shaped 400 naming the place (``param``), and nothing
reaches a backend. In process through the real ASGI app; the same inputs against the embedded
model and a real llama.cpp server are in tests/e2e/test_hostile_e2e.py."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from souverain.api.app import create_app
from souverain.api.strictjson import InvalidBody, parse_body
from tests.api.test_errors import assert_openai_error, client_for, config
from tests.support.fakes import FakeBackend, install

USER = '{"role":"user","content":"hi"}'


def chat(fields: str = "", messages: str = f"[{USER}]") -> bytes:
    return ('{"model":"default",' + fields + '"messages":' + messages + "}").encode(
        "utf-8", "surrogatepass"
    )


HOSTILE = [
    # (name, body, code, param)
    ("max_tokens above 64 bits", chat(f'"max_tokens":{2**70},'), "invalid_value", "max_tokens"),
    ("seed above 64 bits", chat(f'"seed":{2**64},'), "invalid_value", "seed"),
    ("seed below 64 bits", chat(f'"seed":{-(2**63) - 1},'), "invalid_value", "seed"),
    (
        "big int deep in tools",
        chat(
            '"tools":[{"type":"function","function":{"name":"f","parameters":{"maxLength":'
            + str(2**70)
            + "}}}],"
        ),
        "invalid_value",
        "tools[0].function.parameters.maxLength",
    ),
    (
        "lone surrogate in content",
        chat(messages='[{"role":"user","content":"a\\ud800b"}]'),
        "invalid_value",
        "messages[0].content",
    ),
    (
        "lone low surrogate in a text part",
        chat(messages='[{"role":"user","content":[{"type":"text","text":"\\udc00"}]}]'),
        "invalid_value",
        "messages[0].content[0].text",
    ),
    ("lone surrogate in stop", chat('"stop":["x","\\udfff"],'), "invalid_value", "stop[1]"),
    ("lone surrogate in a key", chat('"\\ud800":1,'), "invalid_value", None),
    ("NaN", chat('"temperature":NaN,'), "invalid_json", "temperature"),
    ("Infinity", chat('"top_p":Infinity,'), "invalid_json", "top_p"),
    ("-Infinity in an ignored field", chat('"x":[-Infinity],'), "invalid_json", "x[0]"),
    ("1e999", chat('"temperature":1e999,'), "invalid_value", "temperature"),
    ("'nan' as a string", chat('"temperature":"nan",'), "invalid_value", "temperature"),
    (
        "nested 100000 deep",
        chat('"x":' + "[" * 100_000 + "]" * 100_000 + ","),
        "invalid_json",
        None,
    ),
    ("nested 65 deep", chat('"x":' + "[" * 65 + "]" * 65 + ","), "invalid_value", "x" + "[0]" * 63),
    ("duplicate model", chat('"model":"kyc",'), "invalid_json", "model"),
    (
        "duplicate key inside a message",
        chat(messages='[{"role":"user","content":"a","content":"b"}]'),
        "invalid_json",
        "messages[0].content",
    ),
    (
        "invalid UTF-8",
        b'{"model":"default","messages":[{"role":"user","content":"\xff"}]}',
        "invalid_json",
        None,
    ),
    ("UTF-16", USER.encode("utf-16"), "invalid_json", None),
    ("truncated", chat()[:-3], "invalid_json", None),
    (
        "content a number",
        chat(messages='[{"role":"user","content":5}]'),
        "invalid_value",
        "messages[0].content",
    ),
    (
        "text part without text",
        chat(messages='[{"role":"user","content":[{"type":"text","text":5}]}]'),
        "invalid_value",
        "messages[0].content[0].text",
    ),
    (
        "unknown role",
        chat(messages='[{"role":"wizard","content":"hi"}]'),
        "invalid_value",
        "messages[0].role",
    ),
    (
        "user content null",
        chat(messages='[{"role":"user","content":null}]'),
        "invalid_value",
        "messages[0]",
    ),
    ("messages an object", chat(messages=USER), "invalid_value", "messages"),
    (
        "a tool without function",
        chat('"tools":[{"a":1}],'),
        "missing_required_parameter",
        "tools[0].type",
    ),
    (
        "tool_choice nonsense",
        chat('"tool_choice":{"a":[1]},'),
        "missing_required_parameter",
        "tool_choice.type",
    ),
    (
        "response_format type 5",
        chat('"response_format":{"type":5},'),
        "invalid_value",
        "response_format.type",
    ),
    (
        "json_schema not an object",
        chat('"response_format":{"type":"json_schema","json_schema":"x"},'),
        "invalid_value",
        "response_format.json_schema",
    ),
    ("max_tokens 1.5", chat('"max_tokens":1.5,'), "invalid_value", "max_tokens"),
    (
        "stream_options 5",
        chat('"stream":true,"stream_options":5,'),
        "invalid_value",
        "stream_options",
    ),
]


@pytest.fixture(scope="module")
def hostile_app():
    a = create_app(config(max_body=1_000_000))
    backends = FakeBackend("first", text="ok"), FakeBackend("second", text="ok")
    install(a, *backends)
    return a, backends


@pytest.mark.parametrize(("name", "body", "code", "param"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_body_is_a_400_naming_the_place(hostile_app, name, body, code, param) -> None:
    app, backends = hostile_app
    async with client_for(app) as c:
        r = await c.post(
            "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
        )
    err = assert_openai_error(r, 400, code)
    if param is not None:
        assert err["param"] == param, err
    assert all(not b.received for b in backends), "a hostile body reached a backend"


async def test_completions_lone_surrogate_and_valid_pair(hostile_app) -> None:
    app, _ = hostile_app
    async with client_for(app) as c:
        r = await c.post(
            "/v1/completions",
            content=b'{"model":"default","prompt":["\\ud800"]}',
            headers={"content-type": "application/json"},
        )
        assert_openai_error(r, 400, "invalid_value", "prompt[0]")
        # a surrogate *pair* is one valid character: served
        r = await c.post(
            "/v1/completions",
            content=b'{"model":"default","prompt":"smile \\ud83d\\ude00"}',
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 200, r.text


def test_parse_body_accepts_what_json_allows() -> None:
    value = parse_body(
        (
            '{"a":[1,-2,3.5,true,null,"é\\u00e9\\ud83d\\ude00"],"b":{"c":' + str(2**64 - 1) + "}}"
        ).encode()
    )
    assert value == {"a": [1, -2, 3.5, True, None, "éé😀"], "b": {"c": 2**64 - 1}}
    nested = "[" * 64 + "]" * 64  # the limit itself is fine
    assert parse_body(nested.encode()) is not None
    with pytest.raises(InvalidBody):
        parse_body(("[" * 65 + "]" * 65).encode())


JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None), max_size=8)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "seed",
        "stop",
        "n",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "response_format",
        "logprobs",
        "presence_penalty",
        "user",
    ]
)


def _encode(value: object) -> str:
    """JSON text as a hostile client may write it: NaN, huge ints, lone surrogates included."""
    import json

    return json.dumps(value, ensure_ascii=True, allow_nan=True)


@given(
    fields=st.dictionaries(FIELDS, JSON, max_size=6),
    messages=st.lists(
        st.dictionaries(
            st.sampled_from(["role", "content", "name", "tool_calls"]), JSON, max_size=3
        )
        | st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "system", "x"]), "content": JSON}
        ),
        max_size=3,
    ),
    endpoint=st.sampled_from(["/v1/chat/completions", "/v1/completions"]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
async def test_fuzz_request_path_never_500(hostile_app, fields, messages, endpoint) -> None:
    """Arbitrary values in every field (hypothesis): 200 or an OpenAI-shaped 4xx, never a 5xx."""
    app, _ = hostile_app
    body = {"model": "default", "messages": messages, "prompt": "p", **fields}
    async with client_for(app) as c:
        r = await c.post(
            endpoint,
            content=_encode(body).encode(),
            headers={"content-type": "application/json"},
        )
    assert r.status_code < 500, r.text
    assert "Traceback" not in r.text
    if r.status_code != 200:
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code"}
