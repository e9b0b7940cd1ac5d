"""One call for the gateway: a finished request's cost, energy and carbon as ledger fields."""

from __future__ import annotations

from typing import Any

from souverain.metering.carbon import carbon_g, grid_intensity
from souverain.metering.cost import request_cost
from souverain.metering.energy import EnergyReading, estimate_from_parameters


def account(
    backend: Any,
    site: Any,
    *,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    reading: EnergyReading | None = None,
    duration_s: float = 0.0,
) -> dict[str, Any]:
    """The ``cost_*``, ``energy_*``, ``carbon_g`` and ``grid_gco2_per_kwh`` fields of a
    :class:`~souverain.ledger.LedgerRecord`. ``reading`` comes from the site's
    :class:`~souverain.metering.energy.Meter` (self-hosted); remote backends are estimated from
    their declared ``parameters``."""
    if reading is not None:  # measured or estimated on this machine (in-process backends)
        energy = reading
        busy = energy.busy_share_s or duration_s
    else:  # computed elsewhere (a remote API, or a self-hosted server on another machine)
        params = getattr(backend, "parameters", None)
        energy = estimate_from_parameters(
            getattr(params, "total_b", None),
            getattr(params, "active_b", None),
            prompt_tokens,
            completion_tokens,
        )
        busy = duration_s
    cost = request_cost(
        backend,
        site,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        busy_share_s=busy,
        energy_wh=energy.wh,
    )
    grid = grid_intensity(backend, site)
    return {
        "cost_eur": cost.eur,
        "cost_method": cost.method,
        "energy_wh": energy.wh,
        "energy_wh_low": energy.wh_low,
        "energy_wh_high": energy.wh_high,
        "energy_method": energy.method,
        "carbon_g": carbon_g(energy.wh, grid),
        "grid_gco2_per_kwh": grid,
    }
