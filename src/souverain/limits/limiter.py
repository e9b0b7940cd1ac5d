"""Rate limits per API key and per use case: requests per minute (``rpm``) and tokens per minute
(``tpm``), over a sliding window of 60 s (see :mod:`souverain.limits.window`).

A request is admitted when every limit that applies to it has room: its key's (config
``api_keys[].limits`` or ``keys create --rpm/--tpm``) and its use case's (``use_cases[].limits``,
counted over every key). Requests are counted at admission; tokens (prompt + completion) once the
answer is finished, so a request is admitted while its key or use case has used fewer tokens than
``tpm`` in the window: a limit can be passed by the tokens of the requests in flight when it is
reached (at most one request's worth each), never by a new one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from souverain.limits.memory import MemoryStore
from souverain.limits.redis_store import LimiterUnavailable, RedisStore
from souverain.limits.window import Check, Usage

log = logging.getLogger("souverain.limits")
Store = MemoryStore | RedisStore


def duration(seconds: float) -> str:
    """OpenAI's duration format for ``x-ratelimit-reset-*``: ``0s``, ``17s``, ``1m0s``."""
    s = max(0, math.ceil(seconds))
    return f"{s // 60}m{s % 60}s" if s >= 60 else f"{s}s"


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int | None = None
    tpm: int | None = None


class RateLimited(Exception):
    """Over a limit: 429 ``rate_limited`` with ``Retry-After`` and the ``x-ratelimit-*``
    headers."""

    def __init__(self, usage: Usage, headers: dict[str, str]) -> None:
        self.usage = usage
        self.headers = headers
        self.retry_after_s = max(1, math.ceil(usage.retry_s))
        c = usage.check
        per = "requests" if c.kind == "requests" else "tokens"
        super().__init__(
            f"rate limit of {c.scope} reached: {c.limit} {per} per minute; retry in "
            f"{self.retry_after_s} s"
        )


@dataclass(slots=True)
class Admission:
    """An admitted request: its counters (to add its tokens to) and its headers."""

    usages: list[Usage] = field(default_factory=list)

    @property
    def token_keys(self) -> list[str]:
        return [u.check.key for u in self.usages if u.check.kind == "tokens"]

    def headers(self) -> dict[str, str]:
        return rate_headers(self.usages)


def rate_headers(usages: Sequence[Usage]) -> dict[str, str]:
    """``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` of the tightest limit of each
    kind (the one with the least remaining)."""
    out: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        mine = [u for u in usages if u.check.kind == kind]
        if not mine:
            continue
        tight = min(mine, key=lambda u: (u.remaining, -u.reset_s))
        out[f"x-ratelimit-limit-{kind}"] = str(tight.check.limit)
        out[f"x-ratelimit-remaining-{kind}"] = str(tight.remaining)
        out[f"x-ratelimit-reset-{kind}"] = duration(tight.reset_s)
    return out


def where_counted(config: Any) -> str:
    """Where the config's rate limits are counted, in words (``check-config``)."""
    lc = config.limits
    if lc.redis_url:
        return f"in Redis at {_hide_password(lc.redis_url)} (shared by every replica)"
    if lc.redis_url_env:
        state = "set" if os.environ.get(lc.redis_url_env, "").strip() else "NOT SET: in process"
        return f"in Redis at the URL in ${lc.redis_url_env} ({state})"
    return (
        "in process (exact for one gateway process; with several replicas or --workers set "
        "limits.redis_url)"
    )


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RateLimiter:
    """Checks requests against their key's and use case's limits in ``store``. ``fail_open``:
    when the store cannot be reached, admit (logged) instead of raising
    :class:`LimiterUnavailable`."""

    def __init__(
        self,
        store: Store,
        use_cases: dict[str, Limits],
        *,
        prefix: str = "souverain:rl:",
        fail_open: bool = False,
    ) -> None:
        self.store = store
        self.use_cases = {k: v for k, v in use_cases.items() if v.rpm or v.tpm}
        self.prefix = prefix
        self.fail_open = fail_open
        self._degraded = False
        self._pending: set[asyncio.Task[None]] = set()

    @classmethod
    def from_config(cls, config: Any) -> RateLimiter:
        """The limiter of a config: Redis when ``limits.redis_url`` (or the variable named by
        ``limits.redis_url_env``) is set, else this process. Connects on first use only."""
        lc = config.limits
        url = lc.redis_url
        if lc.redis_url_env:
            url = os.environ.get(lc.redis_url_env, "").strip() or None
            if url is None:
                log.error(
                    "limits.redis_url_env: environment variable %s is not set: rate limits are "
                    "counted in this process only",
                    lc.redis_url_env,
                )
        store: Store
        if url:
            password = os.environ.get(lc.redis_password_env or "", "") or None
            store = RedisStore(
                url, timeout_s=lc.timeout_s, shown_url=_hide_password(url), password=password
            )
        else:
            store = MemoryStore()
        use_cases = {
            u.name: Limits(u.limits.rpm, u.limits.tpm) for u in config.use_cases if u.limits
        }
        return cls(store, use_cases, prefix=lc.redis_prefix, fail_open=lc.fail_open)

    def describe(self) -> str:
        return self.store.describe()

    def checks(self, key_name: str | None, key: Limits | None, use_case: str) -> list[Check]:
        out: list[Check] = []
        scopes: list[tuple[str, Limits | None]] = [
            (f"use_case:{use_case}", self.use_cases.get(use_case))
        ]
        if key_name is not None:
            scopes.insert(0, (f"api_key:{key_name}", key))
        for scope, limits in scopes:
            if limits is None:
                continue
            if limits.rpm:
                out.append(
                    Check(f"{self.prefix}{scope}:requests", limits.rpm, 1, "requests", scope)
                )
            if limits.tpm:
                out.append(Check(f"{self.prefix}{scope}:tokens", limits.tpm, 0, "tokens", scope))
        return out

    async def admit(self, key_name: str | None, key: Limits | None, use_case: str) -> Admission:
        """Count the request, or raise :class:`RateLimited` (nothing counted then). Without a
        limit for this key and use case: no store call at all."""
        checks = self.checks(key_name, key, use_case)
        if not checks:
            return Admission()
        try:
            ok, usages = await self.store.admit(checks)
        except LimiterUnavailable as exc:
            self._note_down(exc)
            if self.fail_open:
                return Admission()
            raise
        self._note_up()
        if not ok:
            denied = max((u for u in usages if u.retry_s > 0), key=lambda u: u.retry_s)
            headers = rate_headers(usages)
            retry = max(1, math.ceil(denied.retry_s))
            headers["Retry-After"] = str(retry)
            headers["retry-after-ms"] = str(retry * 1000)
            raise RateLimited(denied, headers)
        return Admission(usages)

    async def spend_tokens(self, admission: Admission, tokens: int) -> None:
        """Add a finished request's tokens to its ``tpm`` counters (errors are logged)."""
        keys = admission.token_keys
        if not keys or tokens <= 0:
            return
        try:
            await self.store.add(keys, tokens)
        except LimiterUnavailable as exc:
            self._note_down(exc)

    def spend_soon(self, admission: Admission, tokens: int) -> None:
        """:meth:`spend_tokens` in the background (the answer is not held up by it)."""
        if not admission.token_keys or tokens <= 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a stream closed outside the loop (garbage collection)
            return
        task = loop.create_task(self.spend_tokens(admission, tokens))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _note_down(self, exc: Exception) -> None:
        if not self._degraded:
            action = "letting requests through (fail_open)" if self.fail_open else "refusing"
            log.error("rate limits: counters unavailable, %s: %s", action, exc)
        self._degraded = True

    def _note_up(self) -> None:
        if self._degraded:
            log.warning("rate limits: counters reachable again")
        self._degraded = False

    async def close(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=2)
        await self.store.close()


__all__ = [
    "Admission",
    "LimiterUnavailable",
    "Limits",
    "RateLimited",
    "RateLimiter",
    "duration",
    "rate_headers",
    "where_counted",
]
