"""The top-level configuration model, with the backend union built from the backend registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from souverain.backends.registry import backend_config_models
from souverain.config.models import (
    ApiKeyConfig,
    BenchConfig,
    ConsoleConfig,
    LedgerConfig,
    LimitsConfig,
    MetricsConfig,
    ServerConfig,
    SiteConfig,
    Strict,
    UseCaseConfig,
)

if TYPE_CHECKING:
    from souverain.config.models import BackendConfigBase as BackendConfig
else:
    _models = tuple(backend_config_models())
    BackendConfig = Annotated[Union[_models], Field(discriminator="type")]  # noqa: UP007


class Config(Strict):
    """The whole configuration file. See docs/config.md for every field."""

    site: SiteConfig = Field(default_factory=SiteConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    backends: list[BackendConfig] = Field(min_length=1)
    use_cases: list[UseCaseConfig] = Field(min_length=1)
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    confidential_markers: list[str] = Field(default_factory=list)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    bench: BenchConfig = Field(default_factory=BenchConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    # -- lookups ------------------------------------------------------------------------------------
    def backend(self, name: str) -> Any:
        for b in self.backends:
            if b.name == name:
                return b
        raise KeyError(name)

    def use_case(self, name: str) -> UseCaseConfig:
        for u in self.use_cases:
            if u.name == name:
                return u
        raise KeyError(name)

    @property
    def use_case_names(self) -> list[str]:
        return [u.name for u in self.use_cases]
