"""Rate limits (requests and tokens per minute) per API key and per use case, counted in Redis
(shared by replicas) or in this process; see :mod:`souverain.limits.limiter` and docs/config.md."""

from souverain.limits.limiter import (
    Admission,
    LimiterUnavailable,
    Limits,
    RateLimited,
    RateLimiter,
)
from souverain.limits.memory import MemoryStore
from souverain.limits.window import Check, Usage

__all__ = [
    "Admission",
    "Check",
    "LimiterUnavailable",
    "Limits",
    "MemoryStore",
    "RateLimited",
    "RateLimiter",
    "Usage",
]
