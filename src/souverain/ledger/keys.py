"""Runtime API keys, stored in the ledger database (table ``api_keys``, migration 0004).

``souverain keys create|list|revoke|rotate`` write them through :class:`KeyStore`; every gateway
replica on the same database holds a :class:`RuntimeKeys` that polls a cheap fingerprint
(``count(*), sum(revision)``) every second and reloads the keys when it changed, so a create,
revoke or rotate is seen everywhere within about a second, without a restart.

Only the SHA-256 of a secret is stored: a secret is 256 random bits (``sk-sov-`` + 43 url-safe
characters), so a plain hash is enough (no salt or slow hash needed against guessing).

``rotate`` gives the key a new secret; the old one stays valid for a grace period (default
:data:`DEFAULT_GRACE`, never beyond the key's expiry), so that clients can be switched over
without an outage. A second rotation ends the first one's grace at once: only the newest and the
previous secret are ever valid. ``revoke`` ends both at once; a revoked key keeps its row (its
name stays taken: the ledger's ``api_key_name`` must keep naming one key).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from souverain.ledger.engine import create_ledger_engine, display_url, normalise_url, upgrade
from souverain.ledger.record import as_utc, format_ts, utcnow
from souverain.ledger.schema import api_keys as K

log = logging.getLogger(__name__)
KEY_PREFIX = "sk-sov-"
DEFAULT_GRACE = timedelta(minutes=60)
KeyStatus = Literal["active", "expired", "revoked"]


def hash_key(key: str) -> str:
    """The SHA-256 (hex) a key is known by, in the config and in the database."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyStoreError(Exception):
    """A key operation was refused (unknown name, name taken, revoked key) or failed."""


@dataclass(frozen=True, slots=True)
class RuntimeKey:
    """One runtime key, without its secret."""

    name: str
    use_cases: tuple[str, ...]  # ("*",): every use case
    admin: bool
    rpm: int | None
    tpm: int | None
    budget_eur_month: float | None
    expires_at: datetime | None
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> KeyStatus:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def public(self, now: datetime) -> dict[str, Any]:
        """What ``keys list`` shows: everything but the secret and its hash."""

        def ts(v: datetime | None) -> str | None:
            return format_ts(v) if v is not None else None

        return {
            "name": self.name,
            "status": self.status(now),
            "use_cases": list(self.use_cases),
            "admin": self.admin,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "budget_eur_month": self.budget_eur_month,
            "expires_at": ts(self.expires_at),
            "created_at": ts(self.created_at),
            "rotated_at": ts(self.rotated_at),
            "revoked_at": ts(self.revoked_at),
        }


@dataclass(frozen=True, slots=True)
class Credential:
    """A secret's hash that authenticates ``key`` until ``valid_until`` (None: no end)."""

    key: RuntimeKey
    valid_until: datetime | None

    def valid(self, now: datetime) -> bool:
        return self.key.revoked_at is None and (self.valid_until is None or now < self.valid_until)


def _opt_utc(v: datetime | None) -> datetime | None:
    return as_utc(v) if v is not None else None


def _key(row: Any) -> RuntimeKey:
    return RuntimeKey(
        name=row.name,
        use_cases=tuple(json.loads(row.use_cases)),
        admin=bool(row.admin),
        rpm=row.rpm,
        tpm=row.tpm,
        budget_eur_month=row.budget_eur_month,
        expires_at=_opt_utc(row.expires_at),
        created_at=as_utc(row.created_at),
        rotated_at=_opt_utc(row.rotated_at),
        revoked_at=_opt_utc(row.revoked_at),
    )


def _earliest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


class KeyStore:
    """Reads and writes the ``api_keys`` table. ``engine`` for writes, ``read_engine`` for reads
    (the same on PostgreSQL). Blocking: call it off the event loop."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine

    @classmethod
    def open(cls, url: str | None) -> KeyStore:
        """The key table of the ledger at ``url`` (migrated to the current schema)."""
        sa_url = normalise_url(url)
        try:
            engine = create_ledger_engine(sa_url, for_writes=True)
            upgrade(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise KeyStoreError(
                f"cannot open the ledger database at {display_url(sa_url)}: {exc}"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    # -- writing ---------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        use_cases: Iterable[str],
        *,
        admin: bool = False,
        rpm: int | None = None,
        tpm: int | None = None,
        budget_eur_month: float | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        """Store a new key; return its secret (the only time it exists outside the client)."""
        ucs = sorted(set(use_cases))
        if not ucs:
            raise KeyStoreError("a key needs at least one use case ('*' for every use case)")
        secret = new_key()
        values = {
            "name": name,
            "sha256": hash_key(secret),
            "use_cases": json.dumps(ucs),
            "admin": admin,
            "rpm": rpm,
            "tpm": tpm,
            "budget_eur_month": budget_eur_month,
            "expires_at": _opt_utc(expires_at),
            "created_at": now or utcnow(),
            "revision": 1,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(K).values(**values))
        except IntegrityError:
            raise KeyStoreError(
                f"a key named {name!r} exists already (revoked keys keep their name: the ledger "
                "names keys); choose another name, or 'souverain keys rotate' it"
            ) from None
        except SQLAlchemyError as exc:
            raise KeyStoreError(f"the key could not be stored: {exc}") from exc
        return secret

    def revoke(self, name: str, *, now: datetime | None = None) -> None:
        """End the key and any secret in its grace period, at once, on every replica."""
        now = now or utcnow()
        self._change(
            name,
            {
                "revoked_at": now,
                "prev_sha256": None,
                "prev_valid_until": None,
                "revision": K.c.revision + 1,
            },
            "revoke",
        )

    def rotate(
        self, name: str, *, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
    ) -> str:
        """Give the key a new secret; the current one stays valid for ``grace``. Returns the
        new secret."""
        if grace < timedelta(0):
            raise KeyStoreError("the grace period cannot be negative")
        now = now or utcnow()
        secret = new_key()
        self._change(
            name,
            {
                "prev_sha256": K.c.sha256,  # the old value: SQL evaluates the row before update
                "prev_valid_until": now + grace,
                "sha256": hash_key(secret),
                "rotated_at": now,
                "revision": K.c.revision + 1,
            },
            "rotate",
        )
        return secret

    def _change(self, name: str, values: dict[str, Any], verb: str) -> None:
        try:
            with self.engine.begin() as conn:
                found = conn.execute(
                    select(K.c.revoked_at).where(K.c.name == name).with_for_update()
                ).first()
                if found is None:
                    raise KeyStoreError(f"no runtime key named {name!r} ('souverain keys list')")
                if found.revoked_at is not None:
                    raise KeyStoreError(f"key {name!r} is revoked already: cannot {verb} it")
                conn.execute(update(K).where(K.c.name == name).values(**values))
        except SQLAlchemyError as exc:
            raise KeyStoreError(f"could not {verb} key {name!r}: {exc}") from exc

    # -- reading ---------------------------------------------------------------------------------
    def all_keys(self) -> list[RuntimeKey]:
        """Every key (revoked ones included), by name."""
        with self.read_engine.connect() as conn:
            return [_key(r) for r in conn.execute(select(K).order_by(K.c.name))]

    def fingerprint(self) -> tuple[int, int]:
        """Changes whenever a key is created, revoked or rotated (one indexed aggregate)."""
        with self.read_engine.connect() as conn:
            n, total = conn.execute(
                select(func.count(), func.coalesce(func.sum(K.c.revision), 0))
            ).one()
        return int(n), int(total)

    def credentials(self) -> tuple[tuple[int, int], dict[str, Credential]]:
        """The fingerprint and every hash that may authenticate (revoked keys left out), read
        in one transaction."""
        with self.read_engine.connect() as conn:
            rows = conn.execute(select(K)).all()
        creds: dict[str, Credential] = {}
        for row in rows:
            if row.revoked_at is not None:
                continue
            key = _key(row)
            creds[row.sha256] = Credential(key, key.expires_at)
            if row.prev_sha256 and row.prev_valid_until is not None:
                until = _earliest(as_utc(row.prev_valid_until), key.expires_at)
                creds[row.prev_sha256] = Credential(key, until)
        fingerprint = (len(rows), sum(int(r.revision) for r in rows))
        return fingerprint, creds


class RuntimeKeys:
    """A replica's view of the runtime keys: a snapshot refreshed by :meth:`refresh` (the
    runtime calls it every ``interval_s`` from a background task). Until bound to a store it is
    empty. ``on_change`` callbacks get the new snapshot's keys (budgets use them)."""

    def __init__(self, *, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.store: KeyStore | None = None
        self._fingerprint: tuple[int, int] | None = None
        self._creds: dict[str, Credential] = {}
        self._rows = 0
        self._failing = False
        self.on_change: list[Callable[[list[RuntimeKey]], None]] = []

    def bind(self, store: KeyStore) -> None:
        self.store = store
        self.refresh()

    @property
    def exist(self) -> bool:
        """Whether any runtime key was ever created (then every request needs a key)."""
        return self._rows > 0

    def lookup(self, digest: str, now: datetime | None = None) -> RuntimeKey | None:
        cred = self._creds.get(digest)
        if cred is None or not cred.valid(now or utcnow()):
            return None
        return cred.key

    def has_admin(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return any(c.key.admin and c.valid(now) for c in self._creds.values())

    def keys(self) -> list[RuntimeKey]:
        return list({c.key.name: c.key for c in self._creds.values()}.values())

    def refresh(self) -> bool:
        """Reload the keys if the fingerprint changed; return whether it did. A database that
        cannot be read keeps the last snapshot (logged once per outage)."""
        if self.store is None:
            return False
        try:
            fingerprint = self.store.fingerprint()
            if fingerprint == self._fingerprint:
                self._recovered()
                return False
            fingerprint, creds = self.store.credentials()
        except SQLAlchemyError as exc:
            if not self._failing:
                log.warning("runtime keys: cannot read the key table (keeping the last): %s", exc)
            self._failing = True
            return False
        self._recovered()
        self._fingerprint, self._creds, self._rows = fingerprint, creds, fingerprint[0]
        keys = self.keys()
        for callback in self.on_change:
            callback(keys)
        return True

    def _recovered(self) -> None:
        if self._failing:
            log.warning("runtime keys: the key table is readable again")
        self._failing = False


__all__ = [
    "DEFAULT_GRACE",
    "KEY_PREFIX",
    "Credential",
    "KeyStore",
    "KeyStoreError",
    "RuntimeKey",
    "RuntimeKeys",
    "hash_key",
    "new_key",
]
