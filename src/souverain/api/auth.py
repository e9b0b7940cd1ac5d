"""API keys: clients send ``Authorization: Bearer <key>``; the config lists keys by SHA-256 (or
names an environment variable holding one), each with the use cases it may call."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass

from starlette.requests import Request

from souverain.api.errors import APIError
from souverain.config.models import ApiKeyConfig

log = logging.getLogger("souverain.auth")
KEY_PREFIX = "sk-sov-"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str | None
    use_cases: frozenset[str] | None  # None: every use case
    #: may open the web console (``api_keys[].admin``)
    admin: bool = False

    def may_use(self, use_case: str) -> bool:
        return self.use_cases is None or use_case in self.use_cases


ANONYMOUS = Principal(None, None)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyRing:
    def __init__(self, keys: list[ApiKeyConfig]):
        self._by_hash: dict[str, Principal] = {}
        self.configured = bool(keys)
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
            self._by_hash[digest] = Principal(k.name, ucs, k.admin)

    @property
    def has_admin(self) -> bool:
        """Whether any key may open the web console."""
        return any(p.admin for p in self._by_hash.values())

    def by_digest(self, digest: str) -> Principal | None:
        """The key whose SHA-256 is ``digest`` (the console's sessions hold it), or None."""
        return self._by_hash.get(digest)

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
