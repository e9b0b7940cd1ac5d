"""Who may open the console: admin keys, sessions, CSRF tokens.

* **Login**: the admin's API key typed into a password field. Only a key with
  ``api_keys[].admin: true`` opens a session; a valid key without it is refused with a message
  saying so.
* **Session**: a cookie holding a signed (HMAC-SHA256) payload -- session id, key name, the key's
  SHA-256 (what the config already lists, never the key), login time and last page time. The
  cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui`` and ``Secure`` when the request came
  over TLS. Every request re-checks that the key still exists and is still an admin key. A
  session ends ``console.session_hours`` after login, after ``console.idle_minutes`` without a
  page, at logout, or when the signing secret changes (a restart, unless
  ``$SOUVERAIN_CONSOLE_SECRET`` is set).
* **CSRF**: every form that changes something carries a token derived from the session id (the
  login form: from a random value in a short-lived pre-login cookie); a POST without the right
  token, or with an ``Origin`` of another host, is refused. The cookies are ``SameSite=Strict``
  as well, so a cross-site form never carries them.

Logging out revokes the session id in this process. With ``serve --workers N`` each worker keeps
its own list, so a copied cookie would stay usable in the other workers until it expires; the
browser that logged out drops its cookie at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from souverain.api.auth import KeyRing, hash_key

SESSION_COOKIE = "souverain_console"
LOGIN_COOKIE = "souverain_console_login"
COOKIE_PATH = "/ui"
SECRET_ENV = "SOUVERAIN_CONSOLE_SECRET"
#: how long the login form stays valid
LOGIN_FORM_S = 15 * 60

LoginOutcome = Literal["ok", "unknown_key", "not_admin", "no_admin_configured"]
LOGIN_MESSAGES: dict[str, str] = {
    "unknown_key": "This key is not known to the gateway. Check that you pasted the whole key.",
    "not_admin": (
        "This key is valid for the API but is not an admin key: only keys with "
        "'admin: true' under api_keys open the console."
    ),
    "no_admin_configured": (
        "No admin key is configured. Add 'admin: true' to a key under api_keys in the "
        "configuration (or create one with 'souverain keys new NAME --admin') and restart."
    ),
    "expired": "Your session has ended. Log in again.",
    "logged_out": "You are logged out.",
    "form_expired": "The form had expired. Please try again.",
}


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    key_name: str
    digest: str
    issued: float
    seen: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def console_secret() -> bytes:
    """``$SOUVERAIN_CONSOLE_SECRET`` (any string; several workers or replicas must share it),
    else a random secret for this process."""
    configured = os.environ.get(SECRET_ENV, "").strip()
    return configured.encode("utf-8") if configured else secrets.token_bytes(32)


class ConsoleAuth:
    """Sessions and CSRF tokens for one app; ``clock`` is replaceable for tests."""

    def __init__(
        self,
        keyring: KeyRing,
        secret: bytes,
        *,
        session_s: float,
        idle_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keyring = keyring
        self._secret = secret
        self.session_s = session_s
        self.idle_s = idle_s
        self.clock = clock
        self._revoked: dict[str, float] = {}  # session id -> when it would have expired

    # -- signing ----------------------------------------------------------------------------------
    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(self._secret, f"{purpose}|{text}".encode(), hashlib.sha256).hexdigest()

    def _seal(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac('session', body)}"

    def _unseal(self, cookie: str) -> dict[str, Any] | None:
        body, _, mac = cookie.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    # -- login ------------------------------------------------------------------------------------
    def check_key(self, key: str) -> tuple[LoginOutcome, str | None]:
        """Whether ``key`` may open a session: the outcome and, when ``ok``, the key's digest."""
        if not self.keyring.has_admin:
            return "no_admin_configured", None
        digest = hash_key(key.strip())
        principal = self.keyring.by_digest(digest)
        if principal is None:
            return "unknown_key", None
        if not principal.admin:
            return "not_admin", None
        return "ok", digest

    def open_session(self, digest: str) -> str:
        """A new session cookie value for the admin key whose SHA-256 is ``digest``."""
        principal = self.keyring.by_digest(digest)
        if principal is None or not principal.admin:
            raise ValueError("not an admin key")
        now = self.clock()
        return self._seal(
            {
                "sid": secrets.token_urlsafe(18),
                "n": principal.name,
                "d": digest,
                "iat": now,
                "seen": now,
            }
        )

    def login_nonce(self) -> str:
        return f"{secrets.token_urlsafe(18)}.{int(self.clock())}"

    def login_token(self, nonce: str) -> str:
        return self._mac("login", nonce)

    def check_login_token(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or not hmac.compare_digest(token, self.login_token(nonce)):
            return False
        _, _, stamp = nonce.rpartition(".")
        return stamp.isdigit() and self.clock() - int(stamp) <= LOGIN_FORM_S

    # -- sessions ---------------------------------------------------------------------------------
    def session(self, cookie: str | None) -> tuple[Session | None, str | None]:
        """The live session in ``cookie``, or ``(None, why)``: ``expired`` when a session
        existed but has ended, ``None`` when there was none."""
        if not cookie:
            return None, None
        payload = self._unseal(cookie)
        if payload is None:
            return None, "expired"
        try:
            found = Session(
                str(payload["sid"]),
                str(payload["n"]),
                str(payload["d"]),
                float(payload["iat"]),
                float(payload["seen"]),
            )
        except (KeyError, TypeError, ValueError):
            return None, "expired"
        now = self.clock()
        if (
            found.sid in self._revoked
            or now - found.issued > self.session_s
            or now - found.seen > self.idle_s
            or now < found.issued - 60  # issued in the future: a clock jump or a forgery
        ):
            return None, "expired"
        principal = self.keyring.by_digest(found.digest)
        if principal is None or not principal.admin:
            return None, "expired"  # the key was removed or lost its admin flag
        return found, None

    def refreshed(self, session: Session) -> str:
        """The session's cookie with ``seen`` moved to now (sliding idle timeout)."""
        return self._seal(
            {
                "sid": session.sid,
                "n": session.key_name,
                "d": session.digest,
                "iat": session.issued,
                "seen": self.clock(),
            }
        )

    def revoke(self, session: Session) -> None:
        now = self.clock()
        self._revoked = {s: t for s, t in self._revoked.items() if t > now}
        self._revoked[session.sid] = session.issued + self.session_s

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf", session.sid)

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session))
