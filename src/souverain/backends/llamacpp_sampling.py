"""What llama.cpp's sampling adds for OpenAI's parameters: ``logit_bias`` as a logits processor,
and ``logprobs`` read from the logits each token was sampled from (the model's own distribution,
before the bias, the penalties, the grammar and the temperature, as OpenAI reports it)."""

from __future__ import annotations

from typing import Any


def logit_bias_processor(logit_bias: dict[str, float] | None) -> Any:
    """``logit_bias`` (token id as a string -> bias) added to the logits before sampling, as
    llama-cpp-python's own completion does; None without one."""
    if not logit_bias:
        return None
    import numpy as np
    from llama_cpp import LogitsProcessorList

    ids = np.array([int(k) for k in logit_bias], dtype=np.intc)
    biases = np.array([float(v) for v in logit_bias.values()], dtype=np.single)

    def bias(input_ids: Any, scores: Any) -> Any:
        scores[ids] += biases
        return scores

    return LogitsProcessorList([bias])


class LogprobRecorder:
    """OpenAI's logprobs entries of the tokens llama.cpp generates, read from the context's
    logits between a token's sampling and the next evaluation (they are the distribution it was
    drawn from: llama-cpp-python keeps no copy unless every position's logits are computed)."""

    def __init__(self, llm: Any, top: int) -> None:
        self.llm = llm
        self.top = top

    def _text(self, token: int) -> tuple[str, list[int]]:
        raw = self.llm.detokenize([token])
        return raw.decode("utf-8", "replace"), list(raw)

    def entry(self, token: int) -> dict[str, Any]:
        """``{"token", "logprob", "bytes", "top_logprobs"}`` of ``token``, just sampled."""
        import llama_cpp
        import numpy as np

        llm = self.llm
        logits = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
        # float32 as llama.cpp keeps them (summed in float64): under 1 ms for 262k tokens
        x = np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),))
        peak = float(x.max())
        log_z = peak + float(np.log(np.exp(x - peak).sum(dtype=np.float64)))
        text, raw = self._text(token)
        out: dict[str, Any] = {
            "token": text,
            "logprob": float(x[token]) - log_z,
            "bytes": raw,
            "top_logprobs": [],
        }
        if self.top:
            best = np.argpartition(x, -self.top)[-self.top :]
            for t in best[np.argsort(-x[best])]:
                alt, alt_raw = self._text(int(t))
                out["top_logprobs"].append(
                    {"token": alt, "logprob": float(x[t]) - log_z, "bytes": alt_raw}
                )
        return out
