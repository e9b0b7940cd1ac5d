"""Image, audio and file parts sent to a text-only backend (issue #13 item 5): a 400 naming the
part, as for tools, decided by placement from the backends' declared capabilities -- never the
part silently dropped. The real embedded llama.cpp backend's capabilities (no model load needed:
placement decides before any backend runs), the official openai client, the in-process app."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from souverain.api.app import create_app
from souverain.backends.base import Capabilities
from souverain.config import parse_config
from tests.support.asgi import openai_client
from tests.support.configs import backend, openai_upstream
from tests.support.fakes import FakeBackend, install

IMAGE = {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
TEXT = {"type": "text", "text": "what is this?"}


def app_for(vision: bool = True):
    remote = {"self_hosted": False, "capabilities": {"media_input": ["image"] if vision else []}}
    cfg = parse_config(
        {
            "backends": [
                backend("local", type="llamacpp", model="embedded"),
                openai_upstream("vision", "http://127.0.0.1:9/v1", **remote),
            ],
            "use_cases": [
                {"name": "default", "backends": ["local"]},
                {
                    "name": "vision",
                    "backends": ["local", "vision"],
                    "policy": {"personal_data": "allow", "media": "allow"},
                },
                {"name": "vision-local", "backends": ["local", "vision"]},
            ],
        }
    )
    app = create_app(cfg)
    caps = app.state.runtime.backends["vision"].capabilities
    install(app, FakeBackend("vision", self_hosted=False, text="a cat", capabilities=caps))
    return app


async def refused(app, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    async with openai_client(app) as c:
        with pytest.raises(openai.BadRequestError) as err:
            await c.chat.completions.create(model=model, messages=messages, max_tokens=4)
    assert err.value.response.headers["x-souverain-decision"] == "refused"
    return err.value.body


async def test_an_image_to_the_text_only_embedded_model_is_a_400_naming_the_part() -> None:
    app = app_for()
    assert app.state.runtime.backends["local"].capabilities.media_input == frozenset()
    body = await refused(app, "default", [{"role": "user", "content": [TEXT, IMAGE]}])
    assert body["code"] == "unsupported_parameter"
    assert body["param"] == "messages[0].content[1]"
    assert "local: does not read image input" in body["message"]
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [TEXT]},
        {"role": "user", "content": [AUDIO, TEXT]},
    ]
    body = await refused(app, "default", messages)
    assert body["param"] == "messages[2].content[0]" and "audio" in body["message"]


async def test_a_backend_that_reads_images_serves_them_and_text_parts_are_not_media() -> None:
    app = app_for()
    async with openai_client(app) as c:
        raw = await c.chat.completions.with_raw_response.create(
            model="vision", messages=[{"role": "user", "content": [TEXT, IMAGE]}], max_tokens=4
        )
        assert raw.headers["x-souverain-backend"] == "vision"
        sent = app.state.runtime.backends["vision"].received[-1].messages
        assert sent[0]["content"][1]["image_url"]["url"] == IMAGE["image_url"]["url"]
        # an audio part: the vision upstream declares images only, the embedded model nothing
        body = await refused(app, "vision", [{"role": "user", "content": [AUDIO]}])
        assert body["param"] == "messages[0].content[0]"
        assert "local: does not read audio" in body["message"]
        assert "vision: does not read audio" in body["message"]


async def test_media_policy_still_decides_first() -> None:
    """keep-local (the default for media, after personal_data) excludes the remote upstream that
    could read the image; the local model cannot: no compliant backend, both reasons given."""
    async with openai_client(app_for()) as c:
        with pytest.raises(openai.APIStatusError) as err:
            await c.chat.completions.create(
                model="vision-local", messages=[{"role": "user", "content": [IMAGE]}], max_tokens=4
            )
    assert err.value.status_code == 503
    msg = err.value.body["message"]
    assert err.value.body["code"] == "no_compliant_backend"
    assert "local: does not read image" in msg and "vision: not self-hosted, media" in msg


def test_text_only_is_the_default_capability() -> None:
    assert Capabilities().media_input == frozenset()
