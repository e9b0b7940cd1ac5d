"""Wire models of the OpenAI API surface. Unknown fields are accepted and ignored: the policy layer
decides explicitly what is forwarded upstream (see :func:`to_generation_request`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Wire(BaseModel):
    #: "nan" / "inf" as strings would pass a float field (JSON NaN never reaches here: strictjson)
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class StreamOptions(Wire):
    include_usage: bool | None = False


class ContentPart(Wire):
    """One part of a message's content; a text part must carry its text as a string."""

    type: str = Field(min_length=1)
    text: str | None = None

    @model_validator(mode="after")
    def _text(self) -> ContentPart:
        if self.type in ("text", "input_text") and self.text is None:
            raise ValueError(f"a {self.type!r} part needs 'text' (a string)")
        return self


class FunctionCall(Wire):
    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] = ""  # some clients send the object itself


class ToolCall(Wire):
    """A tool call an assistant message made earlier in the conversation."""

    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Wire):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _content(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(
                f"content is required for a {self.role!r} message "
                "(only an assistant message with tool_calls may leave it out)"
            )
        return self


class FunctionDef(Wire):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Wire):
    type: Literal["function"]
    function: FunctionDef


class NamedToolChoice(Wire):
    type: Literal["function"]
    function: FunctionCall | dict[str, Any]

    @field_validator("function")
    @classmethod
    def _named(cls, v: Any) -> Any:
        name = v.name if isinstance(v, FunctionCall) else v.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("tool_choice.function needs a 'name' (a string)")
        return v


class JsonSchemaFormat(Wire):
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(Wire):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a 'json_schema' object")
        return self


#: tokens one logit_bias may name (OpenAI's limit)
MAX_LOGIT_BIAS = 300


class SamplingParams(Wire):
    model: str = Field(min_length=1, description="a use case name (GET /v1/models lists them)")
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(None, ge=1, le=128)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    user: str | None = Field(None, max_length=256)
    logit_bias: dict[str, float] | None = None

    @field_validator("logit_bias")
    @classmethod
    def _logit_bias(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return None
        if len(v) > MAX_LOGIT_BIAS:
            raise ValueError(f"at most {MAX_LOGIT_BIAS} tokens")
        for key, bias in v.items():
            if not key.isdigit() or not key.isascii():
                raise ValueError(f"keys are token ids (integers as strings), not {key[:20]!r}")
            if not -100 <= bias <= 100:
                raise ValueError(f"the bias of token {key} must be between -100 and 100")
        return v

    @field_validator("stop")
    @classmethod
    def _stop(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences")
        return v

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def generation_params(self) -> dict[str, Any]:
        """The backend request's generation parameters this body sets, as keyword arguments of
        ``GenerationRequest`` (see ``backends.base.GENERATION_PARAMS``)."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop_list(),
            "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "logit_bias": self.logit_bias,
            "user": self.user,
        }


class ChatCompletionRequest(SamplingParams):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)

    def generation_params(self) -> dict[str, Any]:
        rf = self.response_format
        return {
            **super().generation_params(),
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "response_format": as_dicts(rf) if rf and rf.type != "text" else None,
            "tools": as_dicts(self.tools) or None,
            "tool_choice": as_dicts(self.tool_choice) if self.tools else None,
            "parallel_tool_calls": self.parallel_tool_calls if self.tools else None,
        }


class CompletionRequest(SamplingParams):
    prompt: str | list[str] = Field(description="a string (a list of one string is accepted)")
    echo: bool | None = False
    suffix: str | None = None
    best_of: int | None = None
    logprobs: int | None = Field(None, ge=0, le=5)


def as_dicts(value: Any) -> Any:
    """Wire models as the plain dicts a backend request holds (unknown fields kept)."""
    if isinstance(value, list):
        return [as_dicts(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True, by_alias=True)
    return value


#: OpenAI's limit on the number of inputs of one embeddings request
MAX_EMBEDDING_INPUTS = 2048


def _embedding_input(v: Any) -> list[str] | list[list[int]]:
    """``input`` as OpenAI takes it: a string, a list of strings, a token array (a list of
    integers) or a list of token arrays. Returns a list of strings or a list of token arrays."""

    def token_array(items: list[Any], where: str) -> list[int]:
        if not items:
            raise ValueError(f"{where} is an empty token array")
        for j, t in enumerate(items):
            if type(t) is not int:  # bool is an int in Python: not a token
                raise ValueError(f"{where}[{j}] must be a token id (an integer), not {t!r:.40}")
            if t < 0:
                raise ValueError(f"{where}[{j}]: token ids are >= 0")
        return items

    if isinstance(v, str):
        v = [v]
    elif not isinstance(v, list):
        raise ValueError("must be a string, a list of strings, or token arrays (lists of integers)")
    if not v:
        raise ValueError("must not be empty")
    if len(v) > MAX_EMBEDDING_INPUTS:
        raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} inputs in one request, got {len(v)}")
    first = v[0]
    if isinstance(first, str):
        for i, s in enumerate(v):
            if not isinstance(s, str):
                raise ValueError(f"item {i} is not a string (do not mix strings and token arrays)")
            if not s:
                raise ValueError(f"item {i} is an empty string")
        return v
    if type(first) is int:
        return [token_array(v, "input")]
    if isinstance(first, list):
        for i, arr in enumerate(v):
            if not isinstance(arr, list):
                raise ValueError(f"item {i} is not a token array (do not mix kinds of input)")
            token_array(arr, f"input[{i}]")
        return v
    raise ValueError("must be a string, a list of strings, or token arrays (lists of integers)")


class EmbeddingRequest(Wire):
    model: str = Field(min_length=1, description="a use case name (GET /v1/models lists them)")
    input: Any = Field(
        description="a string, a list of strings, a token array or a list of token arrays"
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, strict=True)
    user: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, v: Any) -> list[str] | list[list[int]]:
        return _embedding_input(v)
