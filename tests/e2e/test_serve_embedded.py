"""End to end: a real `souverain serve` process with no config, the real embedded model,
and the official openai client."""

from __future__ import annotations

import httpx
import openai
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(embedded_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=embedded_gateway + "/v1", api_key="unused", max_retries=0)


PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


def test_models_lists_use_cases(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["default", "embed"]


def test_zero_config_embeds_on_the_embedded_model(client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="embed", input=["Paris is the capital of France.", "Berlin is in Germany."]
    )
    out = raw.parse()  # the client asks for base64 and decodes it itself
    assert raw.headers["x-souverain-backend"] == "minilm-l6-v2"
    assert [len(d.embedding) for d in out.data] == [384, 384] and out.usage.prompt_tokens > 10


def test_chat_plain_reports_backend_and_usage(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=PROMPT, max_tokens=24, temperature=0
    )
    resp = raw.parse()
    assert raw.headers["x-souverain-backend"] == "gemma-3-270m"
    assert raw.headers["x-souverain-decision"] == "served"
    assert resp.model == "gemma-3-270m"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content.strip()
    assert resp.choices[0].finish_reason in ("stop", "length")
    assert resp.usage.prompt_tokens > 5 and 0 < resp.usage.completion_tokens <= 24
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_stream_invariants_and_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="default",
            messages=PROMPT,
            max_tokens=24,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len({c.id for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    roles = [c.choices[0].delta.role for c in with_choices]
    assert roles[0] == "assistant" and all(r is None for r in roles[1:])
    finishes = [c.choices[0].finish_reason for c in with_choices if c.choices[0].finish_reason]
    assert len(finishes) == 1
    assert with_choices[-1].choices[0].finish_reason is not None
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert all(c.model == "gemma-3-270m" for c in chunks)


def test_stream_ends_with_done(embedded_gateway: str) -> None:
    with httpx.stream(
        "POST",
        embedded_gateway + "/v1/chat/completions",
        json={"model": "default", "messages": PROMPT, "max_tokens": 8, "stream": True},
        timeout=60,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


@pytest.mark.parametrize("max_tokens", [1, 40])
def test_temperature_zero_stream_equals_plain(client: openai.OpenAI, max_tokens: int) -> None:
    msgs = [
        {"role": "system", "content": "You are concise."},
        {"role": "user", "content": "Name three rivers in Europe."},
    ]
    plain = client.chat.completions.create(
        model="default", messages=msgs, max_tokens=max_tokens, temperature=0
    )
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="default", messages=msgs, max_tokens=max_tokens, temperature=0, stream=True
        )
        if c.choices
    )
    assert streamed == plain.choices[0].message.content
    assert streamed


def test_stop_sequence_and_seed(client: openai.OpenAI) -> None:
    kw = dict(model="default", prompt="1, 2, 3, 4, 5,", max_tokens=30, temperature=0.9, seed=42)
    a = client.completions.create(**kw, stop=[" 9"])
    b = client.completions.create(**kw, stop=[" 9"])
    assert a.choices[0].text == b.choices[0].text  # same seed, same sampling
    assert " 9" not in a.choices[0].text


def test_completions_plain_and_stream(client: openai.OpenAI) -> None:
    resp = client.completions.create(
        model="default", prompt="The capital of France is", max_tokens=8, temperature=0
    )
    assert resp.object == "text_completion" and resp.choices[0].text.strip()
    assert resp.usage.completion_tokens > 0
    text = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model="default",
            prompt="The capital of France is",
            max_tokens=8,
            temperature=0,
            stream=True,
        )
        if c.choices
    )
    assert text == resp.choices[0].text


def test_unknown_model_is_404_listing_valid_names(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    err = info.value.body
    assert (
        err["code"] == "model_not_found" and err["param"] == "model" and "default" in err["message"]
    )


@pytest.mark.parametrize(
    "content",
    [
        "word " * 6000,  # ~7,500 estimated tokens: no candidate's context fits (placement)
        "9 " * 6000,  # ~3,000 estimated, ~6,000 real tokens: llama.cpp's own count refuses it
    ],
    ids=["estimated", "tokenized"],
)
def test_over_long_prompt_is_context_length_exceeded(client: openai.OpenAI, content: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": content}], max_tokens=4
        )
    err = info.value.body
    assert err["code"] == "context_length_exceeded" and err["param"] == "messages", err
    assert "4096" in err["message"]


def test_readyz_and_healthz(embedded_gateway: str) -> None:
    assert httpx.get(embedded_gateway + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(embedded_gateway + "/readyz").json()
    assert ready["status"] == "ready" and ready["backends"]["gemma-3-270m"]["ok"] is True


def test_langchain_chat_openai(embedded_gateway: str) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        base_url=embedded_gateway + "/v1",
        api_key="unused",
        model="default",
        max_tokens=12,
        temperature=0,
    )
    out = llm.invoke("Say hello.")
    assert isinstance(out.content, str) and out.content.strip()
