"""PII-free business texts in several languages: order, invoice, reference and tracking
numbers, dates, amounts, product codes, times, versions. Nothing in them is personal data, a
secret or a confidential marker; every finding on them is a false positive."""

from __future__ import annotations

import random
import string

_COMPANIES = (
    "Nordlicht Logistik GmbH", "Atelier Bleu SAS", "Tecnoservizi S.r.l.", "Distribuciones Sol S.L.",
    "Polmet Sp. z o.o.", "Acme Industrial Ltd", "Vertex Components AB", "Solaris Energia Lda",
    "Bureau Horizon SARL", "Alpenglas AG", "Havnekontor ApS", "Kivi Solutions Oy",
)  # fmt: skip
_PRODUCTS = (
    "Schraube M8x40", "écran 27 pouces", "cavo USB-C 2 m", "tornillo M6", "palette EUR",
    "toner TN-2420", "licence annuelle", "serveur rack 2U", "Kabeltrommel 50 m", "papier A4 80 g",
)  # fmt: skip
_CITIES = ("Lyon", "Hamburg", "Milano", "Valencia", "Utrecht", "Kraków", "Porto", "Göteborg")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Bonjour, veuillez trouver ci-joint la facture {invoice} du {date} pour la commande "
        "{order}, d'un montant de {amount_eu}. Réf. article {sku}, quantité {qty}. "
        "Livraison prévue le {date2} à {time} à notre entrepôt de {city} ({postcode}).",
        "Compte rendu de réunion du {date} : le lot {lot} est validé, la version {version} sera "
        "déployée vendredi. Budget restant : {amount_eu} ({percent}). Dossier {dossier}, "
        "ticket #{ticket}.",
        "Relance : la commande {order} ({qty} x {product}) reste impayée. Montant dû : "
        "{amount_eu}, échéance {date}. Référence de virement {ref}. Suivi colis {tracking}.",
    ),
    "de": (
        "Sehr geehrte Damen und Herren, anbei die Rechnung {invoice} vom {date} zur Bestellung "
        "{order} über {amount_eu}. Artikelnummer {sku}, Menge {qty}. Lieferung am {date2} um "
        "{time} an unser Lager in {city}, {postcode}.",
        "Protokoll der Besprechung vom {date}: Los {lot} freigegeben, Version {version} geht am "
        "Freitag live. Restbudget {amount_eu} ({percent}). Vorgang {dossier}, Ticket #{ticket}.",
        "Zahlungserinnerung: Auftrag {order} ({qty} x {product}) ist offen. Betrag {amount_eu}, "
        "fällig am {date}. Verwendungszweck {ref}. Sendungsnummer {tracking}, EAN {ean}.",
    ),
    "it": (
        "Buongiorno, in allegato la fattura {invoice} del {date} relativa all'ordine {order}, "
        "importo {amount_eu}. Codice articolo {sku}, quantità {qty}. Consegna il {date2} alle "
        "{time} presso il magazzino di {city}.",
        "Verbale della riunione del {date}: lotto {lot} approvato, versione {version} in "
        "produzione venerdì. Budget residuo {amount_eu} ({percent}). Pratica {dossier}.",
    ),
    "es": (
        "Buenos días, adjuntamos la factura {invoice} del {date} del pedido {order} por "
        "{amount_eu}. Referencia {sku}, cantidad {qty}. Entrega el {date2} a las {time} en "
        "nuestro almacén de {city}.",
        "Acta de la reunión del {date}: lote {lot} aprobado, versión {version} el viernes. "
        "Presupuesto restante {amount_eu} ({percent}). Expediente {dossier}, envío {tracking}.",
    ),
    "nl": (
        "Beste, hierbij factuur {invoice} van {date} voor bestelling {order}, bedrag "
        "{amount_eu}. Artikel {sku}, aantal {qty}. Levering op {date2} om {time} in {city}.",
        "Notulen van {date}: partij {lot} goedgekeurd, versie {version} vrijdag live. "
        "Resterend budget {amount_eu} ({percent}). Dossier {dossier}, ticket #{ticket}.",
    ),
    "pl": (
        "Dzień dobry, w załączeniu faktura {invoice} z dnia {date} do zamówienia {order} na "
        "kwotę {amount_eu}. Kod produktu {sku}, ilość {qty}. Dostawa {date2} o {time}.",
    ),
    "en": (
        "Hello, please find attached invoice {invoice} dated {date} for purchase order {order}, "
        "total {amount_en}. Item {sku}, quantity {qty}. Delivery on {date2} at {time} to our "
        "{city} warehouse. Tracking {tracking}.",
        "Meeting notes {date}: batch {lot} approved, release {version} ships Friday. Remaining "
        "budget {amount_en} ({percent}). Case {dossier}, ticket #{ticket}, ref {ref}.",
        "Reminder: PO {order} from {company} ({qty} x {product}) is overdue. Amount "
        "{amount_en}, due {date}. EAN {ean}, lot {lot}.",
    ),
}


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _date(rng: random.Random) -> str:
    y, m, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        (f"{d:02d}/{m:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}", f"{d}.{m}.{y}")
    )


def _amount(rng: random.Random, eu: bool) -> str:
    whole, cents = rng.randint(10, 250_000), rng.randint(0, 99)
    if eu:
        g = f"{whole:,}".replace(",", rng.choice((" ", ".")))
        return rng.choice((f"{g},{cents:02d} €", f"{g},{cents:02d} EUR", f"{whole} €"))
    return rng.choice((f"€{whole:,}.{cents:02d}", f"EUR {whole:,}.{cents:02d}"))


def _ean(rng: random.Random) -> str:
    body = rng.choice(("400", "590", "800", "840", "300")) + _d(rng, 9)
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _slots(rng: random.Random) -> dict[str, str]:
    year = rng.randint(2019, 2026)
    return {
        "order": rng.choice(
            (
                f"BC-{year}-{_d(rng, 6)}",
                f"45000{_d(rng, 5)}",
                f"PO {_d(rng, 8)}",
                f"{year}/{_d(rng, 4)}",
                f"CMD{_d(rng, 7)}",
                f"#{_d(rng, 6)}",
                f"{_d(rng, 9)}",
            )
        ),
        "invoice": rng.choice(
            (
                f"FA-{year}-{_d(rng, 4)}",
                f"INV-{_d(rng, 6)}",
                f"{year}-{_d(rng, 5)}",
                f"RE{_d(rng, 8)}",
                f"F{year}{_d(rng, 5)}",
                f"{_d(rng, 10)}",
            )
        ),
        "date": _date(rng),
        "date2": _date(rng),
        "amount_eu": _amount(rng, True),
        "amount_en": _amount(rng, False),
        "qty": str(rng.randint(1, 500)),
        "sku": rng.choice(
            (
                f"SKU {_d(rng, 4)}-{_d(rng, 2)}-XL",
                f"ART-{_d(rng, 6)}",
                f"{_d(rng, 3)}.{_d(rng, 3)}.{_d(rng, 2)}",
                f"{_d(rng, 3)}-{_d(rng, 4)}-{_d(rng, 1)}",
            )
        ),
        "lot": f"{_d(rng, 4)}-{_d(rng, 3)}",
        "ticket": _d(rng, 5),
        "dossier": rng.choice((f"{_d(rng, 2)}-{_d(rng, 4)}", f"{year} {_d(rng, 2)} {_d(rng, 4)}")),
        "ref": rng.choice(
            (
                f"{year}{_d(rng, 6)}",
                f"{_d(rng, 3)} {_d(rng, 3)} {_d(rng, 3)}",
                f"{_d(rng, 2)}-{_d(rng, 3)}-{_d(rng, 3)}-{_d(rng, 2)}",
                f"RF{_d(rng, 2)} {_d(rng, 4)}",
            )
        ),
        "tracking": rng.choice(
            (
                f"1Z{_d(rng, 3)}AA{_d(rng, 10)}",
                f"00340434{_d(rng, 10)}",
                _d(rng, 12),
                f"JJD{_d(rng, 18)}",
            )
        ),
        "ean": _ean(rng),
        "time": rng.choice((f"{rng.randint(7, 18)}:{rng.choice(('00', '30'))}", "14h30")),
        "percent": f"{rng.randint(1, 99)},{rng.randint(0, 9)} %",
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "postcode": _d(rng, 5),
        "city": rng.choice(_CITIES),
        "company": rng.choice(_COMPANIES),
        "product": rng.choice(_PRODUCTS),
    }


def clean_corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` PII-free business texts in several languages (each ~300-600 characters)."""
    rng = random.Random(seed)
    langs = sorted(TEMPLATES)
    out = []
    for i in range(n):
        lang = langs[i % len(langs)]
        parts = [
            rng.choice(TEMPLATES[lang]).format(**_slots(rng)) for _ in range(rng.randint(1, 2))
        ]
        out.append("\n\n".join(parts))
    return out
