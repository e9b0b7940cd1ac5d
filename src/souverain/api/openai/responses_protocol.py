"""Wire models of ``POST /v1/responses`` (OpenAI's Responses API), stateless. Unknown fields are
accepted and ignored, as for chat; the items of ``input``, ``tools`` and ``tool_choice`` are
checked where they are translated (``responses.py``), which names the place of a bad one
(``input[2].content[0]``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from souverain.api.openai.protocol import Wire


class TextFormat(Wire):
    """``text.format``: plain text, any JSON object, or JSON valid under a schema."""

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema(self) -> TextFormat:
        if self.type == "json_schema" and self.schema_ is None:
            raise ValueError("type 'json_schema' needs a 'schema' (a JSON Schema object)")
        return self


class TextConfig(Wire):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ResponsesRequest(Wire):
    model: str = Field(min_length=1, description="a use case name (GET /v1/models lists them)")
    input: str | list[dict[str, Any]] = Field(
        description="a string (one user message) or a list of input items: messages "
        "(role, content as a string or input_text / output_text / input_image parts), "
        "function_call and function_call_output items"
    )
    instructions: str | None = Field(None, description="a system message put first")
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stream: bool | None = False
    text: TextConfig | None = None
    tools: list[dict[str, Any]] | None = Field(
        None, description='function tools: {"type": "function", "name", "parameters", ...}'
    )
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    # refused with 400 unsupported_parameter (souverain is stateless, runs no built-in tools)
    previous_response_id: str | None = None
    store: bool | None = None
    background: bool | None = None
    conversation: str | dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
    include: list[str] | None = None
    reasoning: dict[str, Any] | None = None
    top_logprobs: int | None = Field(None, ge=0)
    max_tool_calls: int | None = Field(None, ge=1)
