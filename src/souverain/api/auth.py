"""API keys: clients send ``Authorization: Bearer <key>``; the config lists keys by SHA-256 (or
names an environment variable holding one), each with the use cases it may call. Runtime keys
(``souverain keys create``) live in the ledger database and are looked up in the runtime's
:class:`~souverain.ledger.keys.RuntimeKeys` snapshot; a config key wins over a runtime key with
the same hash. Once a runtime key exists, every request needs a key."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from starlette.requests import Request

from souverain.api.errors import APIError
from souverain.config.models import ApiKeyConfig
from souverain.ledger.keys import KEY_PREFIX, RuntimeKey, RuntimeKeys, hash_key, new_key
from souverain.limits import Limits

log = logging.getLogger("souverain.auth")
__all__ = ["ANONYMOUS", "KEY_PREFIX", "KeyRing", "Principal", "authenticate", "hash_key", "new_key"]


@dataclass(frozen=True, slots=True)
class Principal:
    name: str | None
    use_cases: frozenset[str] | None  # None: every use case
    #: may open the web console (``api_keys[].admin``)
    admin: bool = False
    #: the key's rate limits (``api_keys[].limits``, ``keys create --rpm/--tpm``)
    limits: Limits | None = None

    def may_use(self, use_case: str) -> bool:
        return self.use_cases is None or use_case in self.use_cases


ANONYMOUS = Principal(None, None)


def _principal(key: RuntimeKey) -> Principal:
    ucs = None if "*" in key.use_cases else frozenset(key.use_cases)
    limits = Limits(key.rpm, key.tpm) if key.rpm or key.tpm else None
    return Principal(key.name, ucs, key.admin, limits)


class KeyRing:
    """The config's keys and, with ``runtime``, the runtime keys of the ledger database."""

    def __init__(self, keys: list[ApiKeyConfig], runtime: RuntimeKeys | None = None):
        self._by_hash: dict[str, Principal] = {}
        self._runtime = runtime
        self._from_config = bool(keys)
        for k in keys:
            digest = k.sha256
            if digest is None and k.env:
                value = os.environ.get(k.env)
                if not value:
                    log.warning(
                        "api key %s: environment variable %s is not set; key disabled",
                        k.name,
                        k.env,
                    )
                    continue
                digest = hash_key(value.strip())
            if digest is None:
                continue
            ucs = None if "*" in k.use_cases else frozenset(k.use_cases)
            limits = Limits(k.limits.rpm, k.limits.tpm) if k.limits else None
            self._by_hash[digest] = Principal(k.name, ucs, k.admin, limits)

    @property
    def configured(self) -> bool:
        """Whether requests need a key: the config lists keys, or a runtime key was created."""
        return self._from_config or (self._runtime is not None and self._runtime.exist)

    @property
    def has_admin(self) -> bool:
        """Whether any key may open the web console."""
        if any(p.admin for p in self._by_hash.values()):
            return True
        return self._runtime is not None and self._runtime.has_admin()

    def by_digest(self, digest: str) -> Principal | None:
        """The key whose SHA-256 is ``digest`` (the console's sessions hold it), or None. A
        runtime key counts only while it is valid (not revoked, expired or past its grace)."""
        found = self._by_hash.get(digest)
        if found is None and self._runtime is not None:
            key = self._runtime.lookup(digest)
            found = _principal(key) if key is not None else None
        return found

    def authenticate(self, authorization: str | None) -> Principal:
        if not self.configured:
            return ANONYMOUS
        if not authorization:
            raise APIError(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                code="missing_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = authorization.partition(" ")
        principal = self.by_digest(hash_key(token.strip())) if scheme.lower() == "bearer" else None
        if principal is None:
            raise APIError(
                401,
                "invalid API key",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal


def authenticate(request: Request) -> Principal:
    """The caller of ``request``, by the app's keyring (``app.state.keyring``)."""
    keyring: KeyRing = request.app.state.keyring
    return keyring.authenticate(request.headers.get("authorization"))
