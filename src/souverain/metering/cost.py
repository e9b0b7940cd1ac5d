"""Cost of a request in EUR.

Remote API (``cost_method`` ``price:config`` or ``price:table``)::

    cost = prompt_tokens / 1e6 × input_eur_per_mtok + completion_tokens / 1e6 × output_eur_per_mtok

with the backend's ``price:`` from the configuration, else the shipped table
(``data/prices.yaml``: list prices converted to EUR at the rate and date it states).

Self-hosted (``cost_method`` ``machine-time+energy``)::

    cost = eur_per_hour × busy_share_s / 3600 + energy_wh / 1000 × site.electricity_eur_per_kwh

``busy_share_s`` is the request's share of the machine's busy time: its duration divided by the
number of requests in flight with it (integrated over time by :class:`~souverain.metering.energy.Meter`;
``duration / concurrency`` when concurrency was constant). Without ``eur_per_hour`` only the
energy term counts (``cost_method`` ``energy``). Nothing known: ``None`` and ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from souverain.metering.tables import price_table


@dataclass(frozen=True, slots=True)
class Cost:
    eur: float | None
    method: str


def token_cost(
    prompt_tokens: int, completion_tokens: int, input_eur: float, output_eur: float
) -> float:
    return prompt_tokens / 1e6 * input_eur + completion_tokens / 1e6 * output_eur


def api_cost(backend: Any, model: str | None, prompt_tokens: int, completion_tokens: int) -> Cost:
    price = getattr(backend, "price", None)
    if price is not None:
        eur = token_cost(
            prompt_tokens, completion_tokens, price.input_eur_per_mtok, price.output_eur_per_mtok
        )
        return Cost(eur, "price:config")
    found = price_table().lookup(model)
    if found is None:
        return Cost(None, "unknown")
    eur = token_cost(
        prompt_tokens, completion_tokens, found.input_eur_per_mtok, found.output_eur_per_mtok
    )
    return Cost(eur, "price:table")


def self_hosted_cost(
    eur_per_hour: float | None,
    busy_share_s: float,
    energy_wh: float | None,
    electricity_eur_per_kwh: float,
) -> Cost:
    energy_eur = None if energy_wh is None else energy_wh / 1000.0 * electricity_eur_per_kwh
    if eur_per_hour is None:
        return Cost(energy_eur, "energy" if energy_eur is not None else "unknown")
    return Cost(eur_per_hour * busy_share_s / 3600.0 + (energy_eur or 0.0), "machine-time+energy")


def request_cost(
    backend: Any,
    site: Any,
    *,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    busy_share_s: float,
    energy_wh: float | None,
) -> Cost:
    """The cost of one request on ``backend`` (a backend config); see the module docstring."""
    if getattr(backend, "self_hosted", False):
        return self_hosted_cost(
            getattr(backend, "eur_per_hour", None),
            busy_share_s,
            energy_wh,
            float(getattr(site, "electricity_eur_per_kwh", 0.25)),
        )
    return api_cost(backend, model, prompt_tokens, completion_tokens)


def format_eur(value: float) -> str:
    """An amount for people: three significant figures in EUR from 0.01 EUR, else in mEUR or
    µEUR, so a small non-zero amount never reads 0 (``0.00123`` -> ``1.23 mEUR``)."""
    import math

    if value == 0:
        return "0 EUR"
    for factor, unit in ((1.0, "EUR"), (1e3, "mEUR"), (1e6, "µEUR")):
        scaled = value * factor
        if (abs(scaled) >= 0.01 and (unit == "EUR" or abs(scaled) >= 1)) or unit == "µEUR":
            break
    digits = max(0, 2 - math.floor(math.log10(abs(scaled))))
    return f"{scaled:.{digits}f} {unit}"
