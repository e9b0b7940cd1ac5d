"""Carbon: energy × the grid's carbon intensity where the energy was used.

``carbon_g = energy_wh / 1000 × grid_gco2_per_kwh``

The intensity used, first found wins:

1. the backend's ``grid_gco2_per_kwh`` (configuration);
2. self-hosted: the site's ``grid_gco2_per_kwh``, else the table value for ``site.country``;
3. remote: the table value for the backend's ``location`` (where it runs);
4. none found: carbon is unknown (``None``), never a guess.

The table is ``data/grid_intensity.csv`` (Ember yearly averages, gCO2e/kWh; see its header).
"""

from __future__ import annotations

from typing import Any

from souverain.metering.tables import grid_table


def grid_intensity(backend: Any = None, site: Any = None) -> float | None:
    """gCO2e/kWh for a request on ``backend`` (a backend config) run from ``site``."""
    if backend is not None and getattr(backend, "grid_gco2_per_kwh", None) is not None:
        return float(backend.grid_gco2_per_kwh)
    self_hosted = backend is None or bool(getattr(backend, "self_hosted", True))
    if self_hosted:
        if site is not None and getattr(site, "grid_gco2_per_kwh", None) is not None:
            return float(site.grid_gco2_per_kwh)
        return grid_table().lookup(getattr(site, "country", None))
    return grid_table().lookup(getattr(backend, "location", None))


def carbon_g(energy_wh: float | None, gco2_per_kwh: float | None) -> float | None:
    if energy_wh is None or gco2_per_kwh is None:
        return None
    return energy_wh / 1000.0 * gco2_per_kwh
