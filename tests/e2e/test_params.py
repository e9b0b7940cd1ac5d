"""OpenAI's optional chat parameters (issue #13 item 5): forwarded to an OpenAI-compatible
upstream when it honours them (after the egress scan: ``user`` is client text), a 400
``unsupported_parameter`` naming the one a backend cannot honour, honoured by llama.cpp
(``logit_bias``, penalties, ``seed``), and the documented ones no backend here gives refused
rather than ignored. A real gateway on loopback with a capturing upstream, and the real embedded
model in process, through the official openai client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from souverain.api.app import create_app
from souverain.config import parse_config
from tests.support.asgi import openai_client
from tests.support.configs import embedded
from tests.support.egress import egress_gateway

HI = [{"role": "user", "content": "hello"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any]]:
    with egress_gateway(tmp_path_factory.mktemp("params")) as (base, up, _):
        yield openai.OpenAI(base_url=base, api_key="x", max_retries=0), up


@pytest.fixture(scope="module")
def seed_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any]]:
    caps = {"capabilities": {"params": ["seed"]}}
    with egress_gateway(tmp_path_factory.mktemp("params-seed"), **caps) as (base, up, _):
        yield openai.OpenAI(base_url=base, api_key="x", max_retries=0), up


def test_the_upstream_gets_what_it_honours(full: tuple[openai.OpenAI, Any]) -> None:
    client, up = full
    before = len(up.captured)
    client.chat.completions.create(
        model="pseudo",
        messages=HI,
        max_tokens=4,
        logit_bias={"1234": -5, "42": 2.5},
        presence_penalty=0.5,
        frequency_penalty=0.25,
        seed=3,
        user="jean.dupont@example.fr",
        tools=[TOOL],
        parallel_tool_calls=False,
    )
    body = json.loads(up.captured[before])
    assert body["logit_bias"] == {"1234": -5, "42": 2.5}
    assert (body["presence_penalty"], body["frequency_penalty"], body["seed"]) == (0.5, 0.25, 3)
    assert body["parallel_tool_calls"] is False
    # user is client text: scanned like the rest, so the e-mail address left as a placeholder
    assert body["user"].startswith("<EMAIL_") and "dupont" not in up.captured[before].decode()


@pytest.mark.parametrize(
    "param,value",
    [("logit_bias", {"1234": -5}), ("presence_penalty", 0.5), ("frequency_penalty", -1.0)],
)
def test_a_parameter_the_upstream_lacks_is_a_400(
    seed_only: tuple[openai.OpenAI, Any], param: str, value: Any
) -> None:
    client, up = seed_only
    before = len(up.captured)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="pseudo", messages=HI, max_tokens=4, **{param: value})
    body = err.value.body
    assert body["code"] == "unsupported_parameter" and body["param"] == param, body
    assert f"remote: does not support {param}" in body["message"]
    assert len(up.captured) == before  # nothing left
    # its neutral value asks for nothing: served
    neutral = {} if param == "logit_bias" else 0
    client.chat.completions.create(model="pseudo", messages=HI, max_tokens=4, **{param: neutral})
    client.chat.completions.create(model="pseudo", messages=HI, max_tokens=4, seed=1)
    assert len(up.captured) == before + 2


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"functions": [{"name": "f", "parameters": {}}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"store": True}, "store"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"web_search_options": {}}, None),  # empty: asks for nothing
        ({"web_search_options": {"search_context_size": "low"}}, "web_search_options"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"logit_bias": {"abc": 1}}, "logit_bias"),
        ({"logit_bias": {"12": 101}}, "logit_bias"),
        ({"store": False, "service_tier": "auto", "metadata": {"a": "b"}}, None),
    ],
)
def test_documented_parameters_no_backend_gives_are_refused(
    full: tuple[openai.OpenAI, Any], extra: dict[str, Any], param: str | None
) -> None:
    client, _ = full
    call = {"model": "pseudo", "messages": HI, "max_tokens": 4, "extra_body": extra}
    if param is None:
        client.chat.completions.create(**call)
        return
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(**call)
    assert err.value.body["param"] == param, err.value.body
    assert err.value.body["code"] in ("unsupported_parameter", "invalid_value")


# -- llama.cpp honours logit_bias ------------------------------------------------------------------
@pytest.fixture
async def local() -> AsyncIterator[tuple[openai.AsyncOpenAI, Any]]:
    cfg = parse_config(
        {"backends": [embedded("local")], "use_cases": [{"name": "default", "backends": ["local"]}]}
    )
    app = create_app(cfg)
    runtime = app.state.runtime
    await runtime.start(wait=True)
    backend = runtime.backends["local"]
    assert backend.is_healthy(), backend.unhealthy_reason()
    async with openai_client(app) as client:
        yield client, backend
    await runtime.close()


@pytest.mark.slow
async def test_logit_bias_steers_the_embedded_model(local: tuple[openai.AsyncOpenAI, Any]) -> None:
    client, backend = local
    llm = backend._llm
    prompt = "The capital of France is"

    async def complete(**kw: Any) -> str:
        r = await client.completions.create(
            model="default", prompt=prompt, max_tokens=3, temperature=0, **kw
        )
        return r.choices[0].text

    greedy = await complete()
    first = llm.tokenize(greedy.encode(), add_bos=False)[0]
    # -100 on the token greedy decoding picks: it is never picked
    banned = await complete(logit_bias={str(first): -100})
    assert banned and llm.tokenize(banned.encode(), add_bos=False)[0] != first
    # +100 on one token: it is all the model says
    zebra = llm.tokenize(b" zebra", add_bos=False)[0]
    piece = llm.detokenize([zebra]).decode()
    forced = await complete(logit_bias={str(zebra): 100})
    assert forced == piece * 3, (forced, piece)
    # an id outside the vocabulary: 400 naming logit_bias, before anything is generated
    with pytest.raises(openai.BadRequestError) as err:
        await complete(logit_bias={str(llm.n_vocab() + 5): 1})
    assert err.value.body["param"] == "logit_bias" and err.value.body["code"] == "invalid_value"


# -- logprobs ----------------------------------------------------------------------------------
@pytest.mark.slow
async def test_logprobs_from_the_embedded_model(local: tuple[openai.AsyncOpenAI, Any]) -> None:
    client, _ = local
    call = {
        "model": "default",
        "messages": [{"role": "user", "content": "Name a colour."}],
        "max_tokens": 4,
        "temperature": 0,
    }
    reply = await client.chat.completions.create(**call, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    entries = choice.logprobs.content
    assert entries and len(entries) <= 4
    assert "".join(e.token for e in entries).lstrip() == choice.message.content
    for e in entries:
        assert e.logprob <= 0 and bytes(e.bytes).decode("utf-8", "replace") == e.token
        tops = [t.logprob for t in e.top_logprobs]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True)
        # greedy decoding picks the likeliest token: the first alternative is the token itself
        assert (e.top_logprobs[0].token, e.top_logprobs[0].logprob) == (e.token, e.logprob)
    # streamed: the same entries, spread over the chunks
    streamed = []
    async for chunk in await client.chat.completions.create(**call, logprobs=True, stream=True):
        if chunk.choices and chunk.choices[0].logprobs:
            streamed.extend(chunk.choices[0].logprobs.content)
    assert [e.token for e in streamed] == [e.token for e in entries]
    # (llama.cpp's sums differ in the last digits from one evaluation to the next)
    assert all(abs(a.logprob - b.logprob) < 0.05 for a, b in zip(streamed, entries, strict=True))
    assert all(e.top_logprobs == [] for e in streamed)
    # none asked: none given
    plain = await client.chat.completions.create(**call)
    assert plain.choices[0].logprobs is None
    # completions: the legacy lists, logprobs: n alternatives at each position
    comp = await client.completions.create(
        model="default", prompt="One, two,", max_tokens=3, temperature=0, logprobs=2
    )
    lp = comp.choices[0].logprobs
    assert "".join(lp.tokens) == comp.choices[0].text
    assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.top_logprobs)
    assert all(len(alts) == 2 for alts in lp.top_logprobs)
    assert lp.text_offset[0] == 0


def test_logprobs_are_forwarded_in_each_api_spelling(full: tuple[openai.OpenAI, Any]) -> None:
    client, up = full
    before = len(up.captured)
    client.chat.completions.create(
        model="pseudo", messages=HI, max_tokens=4, logprobs=True, top_logprobs=2
    )
    client.completions.create(model="pseudo", prompt="hello", max_tokens=4, logprobs=3)
    chat, comp = (json.loads(b) for b in up.captured[before:])
    assert (chat["logprobs"], chat["top_logprobs"]) == (True, 2)
    assert comp["logprobs"] == 3 and "top_logprobs" not in comp


def test_logprobs_on_an_upstream_that_lacks_them(seed_only: tuple[openai.OpenAI, Any]) -> None:
    client, _ = seed_only
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="pseudo", messages=HI, max_tokens=4, logprobs=True)
    assert err.value.body["param"] == "logprobs"
    assert err.value.body["code"] == "unsupported_parameter"


def test_an_upstreams_logprobs_are_read_in_both_spellings() -> None:
    from souverain.backends.openai_compat import _logprobs

    entry = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}
    assert _logprobs({"logprobs": {"content": [entry]}}, "chat") == [entry]
    legacy = {
        "logprobs": {
            "tokens": ["Hi", "!"],
            "token_logprobs": [-0.1, -2.0],
            "top_logprobs": [{"Hi": -0.1, "Hello": -3.0}, {"!": -2.0}],
            "text_offset": [0, 2],
        }
    }
    got = _logprobs(legacy, "completion")
    assert [(e["token"], e["logprob"]) for e in got] == [("Hi", -0.1), ("!", -2.0)]
    assert got[0]["top_logprobs"][1] == {
        "token": "Hello",
        "logprob": -3.0,
        "bytes": [72, 101, 108, 108, 111],
    }
