"""Cost and carbon formulas on hand-computed cases, and the shipped tables."""

from __future__ import annotations

import pytest

from souverain.config.models import ParametersConfig, PriceConfig, SiteConfig
from souverain.metering import account, api_cost, carbon_g, grid_intensity, self_hosted_cost
from souverain.metering.energy import EnergyReading
from souverain.metering.tables import grid_table, price_table


class Backend:
    def __init__(self, **kw: object) -> None:
        self.self_hosted = False
        self.price = None
        self.parameters = None
        self.eur_per_hour = None
        self.grid_gco2_per_kwh = None
        self.location = "FR"
        self.__dict__.update(kw)


def test_price_override_from_config() -> None:
    b = Backend(price=PriceConfig(input_eur_per_mtok=2.0, output_eur_per_mtok=6.0))
    cost = api_cost(b, "whatever", 1_000, 500)
    # 1000/1e6 × 2 + 500/1e6 × 6 = 0.002 + 0.003
    assert cost.eur == pytest.approx(0.005) and cost.method == "price:config"


def test_price_table_lookup_and_conversion() -> None:
    table = price_table()
    assert table.as_of and 0.5 < table.eur_per_usd < 1.2
    gpt4o = table.lookup("gpt-4o-2024-08-06")
    mini = table.lookup("gpt-4o-mini")
    assert gpt4o is not None and mini is not None and gpt4o != mini
    assert gpt4o.input_eur_per_mtok == pytest.approx(2.50 * table.eur_per_usd)
    assert table.lookup("mistral-large-latest") == table.lookup("mistral-large")
    assert table.lookup("my-private-model") is None
    for name in ("mistral-small", "gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4"):
        assert table.lookup(name) is not None, name
    cost = api_cost(Backend(), "gpt-4o", 1_000_000, 1_000_000)
    assert cost.eur == pytest.approx(12.50 * table.eur_per_usd) and cost.method == "price:table"
    assert api_cost(Backend(), "my-private-model", 10, 10).method == "unknown"


def test_table_provenance_flags() -> None:
    table = price_table()
    assert table.lookup("claude-sonnet-4").verified  # type: ignore[union-attr]
    assert not table.lookup("gpt-4o").verified  # type: ignore[union-attr]
    grid = grid_table()
    assert grid.unverified == {"EU", "IS"}
    assert grid.lookup("CY") == 534  # corrected from a remembered 600 (Ember/OWID, 2023)


def test_self_hosted_cost() -> None:
    # 2 EUR/h, 10 s alone... shared by 4 in flight -> 2.5 s busy share; 0.5 Wh at 0.20 EUR/kWh
    cost = self_hosted_cost(2.0, 10.0 / 4, 0.5, 0.20)
    assert cost.eur == pytest.approx(2.0 * 2.5 / 3600 + 0.5 / 1000 * 0.20)
    assert cost.method == "machine-time+energy"
    assert self_hosted_cost(None, 1.0, 0.5, 0.2).method == "energy"
    assert self_hosted_cost(None, 1.0, None, 0.2) == type(cost)(None, "unknown")


def test_grid_intensity_resolution() -> None:
    fr = grid_table().lookup("FR")
    assert fr is not None and grid_table().source.startswith("Ember")
    eu27 = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
    assert all(grid_table().lookup(c) for c in eu27.split())
    site = SiteConfig(country="DE")
    local = Backend(self_hosted=True)
    assert grid_intensity(local, site) == grid_table().lookup("DE")
    assert grid_intensity(local, SiteConfig(country="DE", grid_gco2_per_kwh=20)) == 20
    assert grid_intensity(Backend(location="US"), site) == grid_table().lookup("US")
    assert grid_intensity(Backend(grid_gco2_per_kwh=5.0), site) == 5.0
    assert grid_intensity(local, SiteConfig()) is None  # unknown country: no guess


def test_carbon() -> None:
    assert carbon_g(2.0, 56.0) == pytest.approx(2.0 / 1000 * 56.0)
    assert carbon_g(None, 56.0) is None and carbon_g(1.0, None) is None


def test_account_remote_and_local() -> None:
    site = SiteConfig(country="FR", electricity_eur_per_kwh=0.2)
    remote = Backend(
        location="FR",
        parameters=ParametersConfig(total_b=24, active_b=None),
        price=PriceConfig(input_eur_per_mtok=0.1, output_eur_per_mtok=0.3),
    )
    fields = account(remote, site, model="m", prompt_tokens=100, completion_tokens=50)
    assert fields["energy_method"] == "estimated:parameters"
    assert fields["cost_method"] == "price:config"
    assert fields["carbon_g"] == pytest.approx(
        fields["energy_wh"] / 1000 * grid_table().lookup("FR")
    )
    local = Backend(self_hosted=True, eur_per_hour=1.0)
    reading = EnergyReading(0.1, 0.05, 0.15, "estimated:cpu-time", busy_share_s=3.6)
    fields = account(local, site, model="m", prompt_tokens=1, completion_tokens=1, reading=reading)
    assert fields["cost_eur"] == pytest.approx(1.0 * 3.6 / 3600 + 0.1 / 1000 * 0.2)
    assert fields["energy_wh_low"] == 0.05 and fields["energy_method"] == "estimated:cpu-time"
