"""Metering: cost (EUR), energy (Wh, measured or estimated, with bounds) and carbon (gCO2e)."""

from souverain.metering.account import account
from souverain.metering.carbon import carbon_g, grid_intensity
from souverain.metering.cost import Cost, api_cost, request_cost, self_hosted_cost
from souverain.metering.energy import EnergyReading, Meter, detect_source, estimate_from_parameters

__all__ = [
    "Cost",
    "EnergyReading",
    "Meter",
    "account",
    "api_cost",
    "carbon_g",
    "detect_source",
    "estimate_from_parameters",
    "grid_intensity",
    "request_cost",
    "self_hosted_cost",
]
