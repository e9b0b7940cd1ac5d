"""Typed configuration: one pydantic model tree fed by the YAML file (see docs/config.md).

Internal option models forbid unknown fields so that a typo is an error, not a silent default.
Backend-type specific models live with their backend (``souverain.backends.*``) and subclass
:class:`BackendConfigBase`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from souverain.jurisdictions import UNKNOWN, normalise_code

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
DataAction = Literal["allow", "keep-local", "pseudonymize", "block"]
#: a confidential marker says that the text is confidential, not which part of it
ConfidentialAction = Literal["allow", "keep-local", "block"]
#: images, audio, files cannot be scanned: they may go, stay local, or be refused
MediaAction = Literal["allow", "keep-local", "block"]
Objective = Literal["cost", "energy", "speed", "quality"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SiteConfig(Strict):
    """Facts about the site that runs souverain."""

    country: str = UNKNOWN
    electricity_eur_per_kwh: float = Field(0.25, ge=0)
    pue: float = Field(1.2, ge=1.0, le=3.0)
    grid_gco2_per_kwh: float | None = Field(None, ge=0)
    cpu_watts_per_core: float | None = Field(None, gt=0)
    memory_watts: float | None = Field(None, ge=0)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return normalise_code(v)


class PriceConfig(Strict):
    input_eur_per_mtok: float = Field(ge=0)
    output_eur_per_mtok: float = Field(ge=0)


class ParametersConfig(Strict):
    """Declared model size, used to estimate a remote API's energy (billions of parameters)."""

    total_b: float = Field(gt=0)
    active_b: float | None = Field(None, gt=0)


#: ``progress(bytes written, total bytes, target)`` while a model file is written on this machine
ModelProgress = Callable[[int, int, Path], None]


class BackendConfigBase(Strict):
    """Fields every backend has. The sovereignty metadata is required: no defaults."""

    name: Name
    type: str
    description: str = ""
    self_hosted: bool
    operator: str = Field(min_length=1)
    operator_jurisdiction: str
    location: str
    open_weights: bool
    # metering
    eur_per_hour: float | None = Field(None, ge=0)
    price: PriceConfig | None = None
    parameters: ParametersConfig | None = None
    grid_gco2_per_kwh: float | None = Field(None, ge=0)

    @field_validator("operator_jurisdiction", "location")
    @classmethod
    def _codes(cls, v: str) -> str:
        code = normalise_code(v)
        if code in ("EU", "EEA"):
            raise ValueError(f"{v!r} is a group; a backend needs one country code (FR, DE, ...)")
        return code

    # -- what this machine must provide (check-config, serve's start-up; nothing is contacted) --
    def model_problems(self) -> list[tuple[str, str]]:
        """What keeps this backend's model from loading here, as ``(field, message)`` pairs
        (a missing file, a missing package); none for a backend that loads nothing here."""
        return []

    def load_line(self) -> str:
        """What ``serve`` loads for this backend: its start-up line (a remote one is reached,
        not loaded)."""
        return f"backend {self.name}: {self.type} (remote)"

    def prepare(self, progress: ModelProgress | None = None) -> None:
        """Write what this backend's model needs on this machine before it loads (the embedded
        model's cache file), telling ``progress(bytes done, total, path)``; nothing by default.
        Failures are left to the backend's own start, which reports them."""


#: Finding category -> the :class:`Policy` field holding its action: the one spelling of this map
#: (placement, capture and the config checks read it).
CATEGORY_FIELDS: dict[str, str] = {
    "personal_data": "personal_data",
    "secret": "secrets",
    "confidential": "confidential",
    "media": "media",
}


class Policy(Strict):
    """A use case's sovereignty policy. Fields not given mean 'no restriction', except the data
    actions, whose defaults are the safe ones (personal data and confidential text stay local,
    secrets are blocked)."""

    allowed_jurisdictions: list[str] | None = None
    allowed_locations: list[str] | None = None
    require_self_hosted: bool = False
    require_open_weights: bool = False
    personal_data: DataAction = "keep-local"
    secrets: DataAction = "block"
    confidential: ConfidentialAction = "keep-local"
    #: None: follows personal_data (pseudonymize counts as keep-local); see media_action
    media: MediaAction | None = None

    @property
    def media_action(self) -> MediaAction:
        """The action for media (images, audio, files, data URLs), which no scanner can read:
        ``media`` when given, else that of ``personal_data`` (``pseudonymize`` -> keep-local)."""
        if self.media is not None:
            return self.media
        pd = self.personal_data
        return "keep-local" if pd == "pseudonymize" else pd

    @field_validator("media", mode="before")
    @classmethod
    def _media(cls, v: object) -> object:
        if v == "pseudonymize":
            raise ValueError(
                "pseudonymize is not available for media: images, audio and files cannot be "
                "scanned, so nothing in them could be replaced; use allow, keep-local or block"
            )
        return v

    @field_validator("confidential", mode="before")
    @classmethod
    def _confidential(cls, v: object) -> object:
        if v == "pseudonymize":
            raise ValueError(
                "pseudonymize is not available for confidential: a marker does not say which "
                "text around it is confidential, so replacing the marker alone would send that "
                "text; use allow, keep-local or block"
            )
        return v

    @field_validator("allowed_jurisdictions", "allowed_locations")
    @classmethod
    def _codes(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        return [normalise_code(c) for c in v]


class ExitTolerances(Strict):
    """How much worse an exit placement may be and still count as ``ready`` (drills)."""

    max_quality_drop: float = Field(0.05, ge=0)
    max_cost_increase: float = Field(0.5, ge=0)
    max_latency_increase: float = Field(1.0, ge=0)
    max_energy_increase: float = Field(1.0, ge=0)


class CaptureConfig(Strict):
    enabled: bool = False
    max_items: int = Field(200, ge=1)
    retention_days: int = Field(30, ge=1)
    allow_sensitive: bool = False


class BudgetConfig(Strict):
    eur_per_day: float | None = Field(None, ge=0)
    eur_per_month: float | None = Field(None, ge=0)


class RateLimitConfig(Strict):
    """Requests and tokens per minute (sliding 60 s window); see docs/config.md, "Rate limits"."""

    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)


class UseCaseConfig(Strict):
    name: Name
    description: str = ""
    backends: list[str] = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)
    objective: Objective | None = None
    quality_floor: float | None = Field(None, ge=0, le=1)
    #: when only candidates below the quality floor remain: serve on them (recorded) or refuse
    on_below_floor: Literal["serve", "refuse"] = "serve"
    suite: str | None = None
    exit: ExitTolerances = Field(default_factory=ExitTolerances)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    budget: BudgetConfig | None = None
    #: counted over every key calling this use case
    limits: RateLimitConfig | None = None


class ApiKeyConfig(Strict):
    """A client key: by its SHA-256 (hex) or read from an environment variable, never in clear."""

    name: Name
    sha256: str | None = None
    env: str | None = None
    use_cases: list[str] = Field(default_factory=lambda: ["*"])
    budget: BudgetConfig | None = None
    #: an operator's key: opens the web console at /ui/ (docs/console.md), independent of use_cases
    admin: bool = False
    limits: RateLimitConfig | None = None

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lower().removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("must be 64 hex characters (the SHA-256 of the key)")
        return v


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    log_prompts: bool = False
    #: origins (``https://app.example.com``) whose pages may call /v1 from a browser; "*": any
    cors_origins: list[str] = Field(default_factory=list)
    #: /readyz probes the backends at most once per this many seconds (in the background)
    readyz_cache_s: float = Field(5.0, ge=1, le=3600)
    #: SIGTERM: how long requests in flight (streams) may take to finish before the process stops
    drain_s: float = Field(30.0, ge=0, le=3600)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if origin != "*" and not _ORIGIN.fullmatch(origin.rstrip("/")):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path "
                    "(https://app.example.com), or '*' for any"
                )
        return v


class CheckpointConfig(Strict):
    """Signed checkpoints written by the gateway itself (docs/ledger.md): a directory sink outside
    the database; the key from ``SOUVERAIN_LEDGER_SIGNING_KEY`` or ``key_file``."""

    dir: Path
    every_rows: int = Field(1000, ge=1)
    every_minutes: float = Field(60.0, gt=0)
    key_file: Path | None = None


class LedgerConfig(Strict):
    enabled: bool = True
    url: str | None = None  # default: SQLite in the data directory
    checkpoints: CheckpointConfig | None = None
    #: a write not committed within this is given up: the request gets 503 ledger_unavailable
    timeout_ms: int = Field(2000, ge=50, le=60_000)
    #: this replica's writer lease: renewed every third of it; once it lapses (the process died),
    #: any live replica closes the replica's pending rows ``interrupted``
    lease_s: float = Field(30.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str | None) -> str | None:
        if v is None or "://" not in v:
            return v
        scheme = v.split("://", 1)[0].lower()
        if scheme.split("+", 1)[0] not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported ledger URL scheme {scheme!r}: use a file path, sqlite:///PATH or "
                "postgresql://user@host/db"
            )
        return v


class LimitsConfig(Strict):
    """Where rate-limit counters live: Redis (shared by replicas) or this process."""

    #: redis://host:6379/0 (rediss:// for TLS, unix:///path.sock); no password in the file
    redis_url: str | None = None
    #: or the name of an environment variable holding the URL (one with a password)
    redis_url_env: str | None = None
    #: the name of an environment variable holding the Redis password (used when it is set)
    redis_password_env: str | None = None
    #: Redis unreachable: let requests through (true) or refuse them with 503 (false, default)
    fail_open: bool = False
    timeout_s: float = Field(0.5, gt=0, le=10)
    #: prefix of the counter keys (several deployments sharing one Redis)
    redis_prefix: str = Field("souverain:rl:", min_length=1, max_length=64)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"unsupported scheme {parts.scheme!r}: use redis://host:6379/0, rediss:// or unix://"
            )
        if parts.password:
            raise ValueError(
                "a password does not belong in the config file: put the whole URL in an "
                "environment variable and name it in limits.redis_url_env"
            )
        _need_redis()
        return v

    @field_validator("redis_url_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None:
            _need_redis()
        return v

    @model_validator(mode="after")
    def _one_url(self) -> LimitsConfig:
        if self.redis_url and self.redis_url_env:
            raise ValueError("give redis_url or redis_url_env, not both")
        return self


def _need_redis() -> None:
    import importlib.util

    if importlib.util.find_spec("redis") is None:
        raise ValueError("needs the redis package: pip install 'souverain[redis]'")


class MetricsConfig(Strict):
    """``GET /metrics``: with api_keys configured it needs an admin key unless ``public``."""

    public: bool = False


class ConsoleConfig(Strict):
    """The web console at ``/ui/`` (docs/console.md): opened by ``api_keys[].admin`` keys."""

    enabled: bool = True
    #: a session ends this long after login, whatever happens
    session_hours: float = Field(8.0, gt=0, le=24 * 7)
    #: and earlier when no page was opened for this long
    idle_minutes: float = Field(30.0, gt=0, le=24 * 60)


class BenchConfig(Strict):
    results_dir: str | None = None  # default: <data dir>/bench
    #: fewer bench items than this and a backend's figures never order anything (advise, routing)
    min_items: int = Field(20, ge=1)
