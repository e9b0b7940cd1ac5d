"""Fuzz the API with schemathesis against the app's own OpenAPI schema: whatever a client sends,
the answer is never a 500 and never a stack trace, and every error is OpenAI-shaped JSON."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from souverain.api.app import create_app
from tests.api.test_errors import config
from tests.support.fakes import FakeBackend, install

app = create_app(config())
install(app, FakeBackend("first", text="fuzzed answer"), FakeBackend("second"))
fuzz_config = schemathesis.Config()
fuzz_config.projects.default.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_500_and_errors_are_openai_shaped(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500 or response.status_code in (502, 503, 504), response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert {"message", "type", "param", "code"} <= set(body["error"])
