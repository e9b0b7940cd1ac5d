"""Counters in Redis (``limits.redis_url``), shared by every replica: one Lua script checks every
limit of a request and charges them in one atomic step, on the Redis server's clock (``TIME``),
so replicas with skewed clocks still count one window. The steps are those of
:func:`souverain.limits.window.evaluate`.

Each counter is a hash ``<prefix><scope>:<name>:<requests|tokens>`` of per-second amounts,
expiring 61 s after its last write. The client connects on first use (never at import or start)
and gives up after ``limits.timeout_s``: :class:`LimiterUnavailable` then, which the gateway turns
into 503 ``rate_limiter_unavailable`` or, with ``limits.fail_open``, lets the request through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from souverain.limits.window import WINDOW_S, Check, Usage


class LimiterUnavailable(Exception):
    """The shared counters cannot be reached."""


# KEYS: counters. ARGV[1]: window (s); then per key: limit, cost. Returns {ok, then per key:
# remaining, reset_s, retry_s}.
ADMIT = """
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[1])
local ok = 1
local out = {}
local totals = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local need = math.max(cost, 1)
  local flat = redis.call('HGETALL', KEYS[i])
  local live, old, total, newest = {}, {}, 0, nil
  for j = 1, #flat, 2 do
    local sec, count = tonumber(flat[j]), tonumber(flat[j + 1])
    if sec <= now - window then
      old[#old + 1] = flat[j]
    else
      live[#live + 1] = {sec, count}
      total = total + count
      if newest == nil or sec > newest then newest = sec end
    end
  end
  if #old > 0 then redis.call('HDEL', KEYS[i], unpack(old)) end
  local retry = 0
  if total + need > limit then
    ok = 0
    table.sort(live, function(a, b) return a[1] < b[1] end)
    local left = total
    for _, b in ipairs(live) do
      left = left - b[2]
      if left + need <= limit then
        retry = b[1] + window - now
        break
      end
    end
    if retry < 1 then retry = 1 end
  end
  totals[i] = {total, newest, limit, cost, retry}
end
for i = 1, #KEYS do
  local t = totals[i]
  local total, newest, limit, cost, retry = t[1], t[2], t[3], t[4], t[5]
  if ok == 1 and cost > 0 then
    redis.call('HINCRBY', KEYS[i], now, cost)
    redis.call('EXPIRE', KEYS[i], window + 1)
    total = total + cost
    newest = now
  end
  local reset = 0
  if newest ~= nil and total > 0 then reset = newest + window - now end
  local remaining = limit - total
  if remaining < 0 then remaining = 0 end
  if ok == 1 then retry = 0 end
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
end
table.insert(out, 1, ok)
return out
"""

ADD = """
local now = redis.call('TIME')[1]
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], now, ARGV[1])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2]) + 1)
end
return 1
"""


class RedisStore:
    kind = "redis"

    def __init__(
        self, url: str, *, timeout_s: float, shown_url: str, password: str | None = None
    ) -> None:
        import redis.asyncio as aioredis

        extra: dict[str, Any] = {"password": password} if password else {}
        self._redis = aioredis.Redis.from_url(
            url,
            **extra,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._admit = self._redis.register_script(ADMIT)
        self._add = self._redis.register_script(ADD)
        self.shown_url = shown_url

    def describe(self) -> str:
        return f"in Redis at {self.shown_url} (shared by every replica)"

    async def admit(self, checks: Sequence[Check]) -> tuple[bool, list[Usage]]:
        args: list[Any] = [WINDOW_S]
        for c in checks:
            args += [c.limit, c.cost]
        try:
            raw = await self._admit(keys=[c.key for c in checks], args=args)
        except Exception as exc:  # redis errors, OSError, timeouts: the store is unavailable
            raise LimiterUnavailable(f"Redis at {self.shown_url}: {exc}") from exc
        ok = bool(int(raw[0]))
        usages = [
            Usage(c, int(raw[1 + 3 * i]), float(raw[2 + 3 * i]), float(raw[3 + 3 * i]))
            for i, c in enumerate(checks)
        ]
        return ok, usages

    async def add(self, keys: Sequence[str], amount: int) -> None:
        try:
            await self._add(keys=list(keys), args=[amount, WINDOW_S])
        except Exception as exc:
            raise LimiterUnavailable(f"Redis at {self.shown_url}: {exc}") from exc

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection must not fail the shutdown
            await self._redis.aclose()
