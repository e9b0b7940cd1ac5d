"""Country codes and the groups a policy may name (EU, EEA).

ISO 3166-1 alpha-2 codes; groups as of 2026 (EU: 27 member states; EEA: EU + IS, LI, NO).
"""

from __future__ import annotations

ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
    CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
    GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG
    PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

EU = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
EEA = EU | {"IS", "LI", "NO"}

GROUPS: dict[str, frozenset[str]] = {"EU": EU, "EEA": EEA}

#: ISO 3166 user-assigned code used for "unknown" (e.g. the built-in config's site country).
UNKNOWN = "ZZ"


def normalise_code(code: str) -> str:
    """Upper-case and strip a country or group code; raise ValueError if unknown."""
    value = str(code).strip().upper()
    if value == "UK":  # common alias; ISO says GB
        value = "GB"
    if value in ISO_3166_ALPHA2 or value in GROUPS or value == UNKNOWN:
        return value
    raise ValueError(
        f"unknown country code {code!r}: use an ISO 3166-1 alpha-2 code (FR, DE, US, ...) "
        f"or a group ({', '.join(sorted(GROUPS))})"
    )


def expand(codes: list[str] | None) -> frozenset[str] | None:
    """Expand groups to country codes; None means 'no restriction'."""
    if codes is None:
        return None
    out: set[str] = set()
    for code in codes:
        out |= GROUPS.get(code, frozenset({code}))
    return frozenset(out)
