"""Placeholders on the way back (issue #11 item 7), through a real gateway and the official
`openai` client, against a capturing upstream: streamed tool-call arguments are restored whole
(a placeholder straddling chunks, or standing at the very end when the arguments are cut), a
model's re-spelling is restored, and a placeholder-looking text the client wrote is never
confused with a generated one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.egress import IBAN, egress_gateway, leaks

TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "pay",
            "parameters": {"type": "object", "properties": {"to": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Any]]:
    with egress_gateway(tmp_path_factory.mktemp("placeholders")) as (base, up, _):
        yield openai.OpenAI(base_url=base, api_key="x", max_retries=0), up
        up.mode, up.reply = "echo", None


def streamed_arguments(client: openai.OpenAI, text: str) -> tuple[str, str | None]:
    args: dict[int, str] = {}
    finish = None
    for chunk in client.chat.completions.create(
        model="pseudo",
        messages=[{"role": "user", "content": text}],
        tools=TOOLS,
        stream=True,
    ):
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or ():
                if call.function and call.function.arguments:
                    args[call.index] = args.get(call.index, "") + call.function.arguments
    assert set(args) == {0}
    return args[0], finish


@pytest.mark.parametrize("mode", ["tool_stream", "tool_stream_cut"])
def test_streamed_tool_call_arguments_are_restored_whole(
    mode: str, gateway: tuple[openai.OpenAI, Any]
) -> None:
    client, up = gateway
    up.mode = mode
    try:
        before = len(up.captured)
        args, finish = streamed_arguments(client, f"IBAN {IBAN}")
    finally:
        up.mode = "echo"
    assert leaks(up, [IBAN], before) == []
    if mode == "tool_stream":  # <IBAN_1> straddles three-character chunks
        assert finish == "tool_calls"
        assert json.loads(args) == {"to": f"IBAN {IBAN}"}
    else:  # cut after a bare, lower-case iban_1: held back until the end, then sent
        assert finish == "length"
        assert args == '{"to": "IBAN ' + IBAN


def test_client_lookalikes_stay_the_clients(gateway: tuple[openai.OpenAI, Any]) -> None:
    client, up = gateway
    before = len(up.captured)
    up.reply = "Yours: <IBAN_1> and iban_3; mine: iban_2 and < IBAN 2 >."
    try:
        reply = client.chat.completions.create(
            model="pseudo",
            messages=[
                {"role": "system", "content": "Reference columns: <IBAN_1>, &lt;iban_3&gt;"},
                {"role": "user", "content": f"IBAN {IBAN}"},
            ],
        )
    finally:
        up.reply = None
    sent = json.loads(up.captured[before])["messages"]
    assert sent[0]["content"] == "Reference columns: <IBAN_1>, &lt;iban_3&gt;"
    assert sent[1]["content"] == "IBAN <IBAN_2>"  # neither of the client's names
    assert (
        reply.choices[0].message.content == f"Yours: <IBAN_1> and iban_3; mine: {IBAN} and {IBAN}."
    )
