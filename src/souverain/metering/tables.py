"""The shipped data tables: API prices (``data/prices.yaml``) and grid carbon intensity
(``data/grid_intensity.csv``). Both are dated and name their sources; see docs/ledger.md."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _data(name: str) -> str:
    return resources.files("souverain").joinpath("data", name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Price:
    """EUR per million tokens, and where the figure comes from. ``verified``: the provider's own
    page was seen to state this price (see the provenance notes in ``data/prices.yaml``)."""

    input_eur_per_mtok: float
    output_eur_per_mtok: float
    source: str
    as_of: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class PriceTable:
    as_of: str
    eur_per_usd: float
    entries: dict[str, Price]

    def lookup(self, model: str | None) -> Price | None:
        """The price of ``model``: exact name, else the longest known name it starts with
        (``gpt-4o-2024-08-06`` -> ``gpt-4o``; ``mistral-large-latest`` -> ``mistral-large``)."""
        if not model:
            return None
        name = model.lower().rsplit("/", 1)[-1]
        if name in self.entries:
            return self.entries[name]
        best = max((k for k in self.entries if name.startswith(k)), key=len, default=None)
        return self.entries[best] if best else None


def parse_prices(doc: dict[str, Any]) -> PriceTable:
    as_of, rate = str(doc["as_of"]), float(doc["eur_per_usd"])
    entries: dict[str, Price] = {}
    for e in doc["models"]:
        factor = {"EUR": 1.0, "USD": rate}[e["currency"]]
        entries[str(e["model"]).lower()] = Price(
            float(e["input"]) * factor,
            float(e["output"]) * factor,
            str(e["source"]),
            as_of,
            e.get("verified") is True,
        )
    return PriceTable(as_of, rate, entries)


@cache
def price_table() -> PriceTable:
    return parse_prices(yaml.safe_load(_data("prices.yaml")))


@dataclass(frozen=True, slots=True)
class GridTable:
    as_of: str
    source: str
    gco2e_per_kwh: dict[str, float]
    unverified: frozenset[str] = frozenset()  # countries whose value no source confirmed

    def lookup(self, country: str | None) -> float | None:
        return self.gco2e_per_kwh.get((country or "").upper())


def parse_grid(text: str) -> GridTable:
    comments = [line for line in text.splitlines() if line.startswith("#")]
    source = next((c.split("Source:", 1)[1].strip() for c in comments if "Source:" in c), "")
    as_of = next(
        (c.split("as_of:", 1)[1].split(".")[0].strip() for c in comments if "as_of:" in c), ""
    )
    body = io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    rows = list(csv.DictReader(body))
    values = {r["country"].upper(): float(r["gco2e_per_kwh"]) for r in rows}
    unverified = frozenset(r["country"].upper() for r in rows if r.get("verified") == "false")
    return GridTable(as_of, source, values, unverified)


@cache
def grid_table() -> GridTable:
    return parse_grid(_data("grid_intensity.csv"))
