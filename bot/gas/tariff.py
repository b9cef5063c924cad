"""The gas price list and the arithmetic of a month's bill.

Residential gas is priced in yearly tiers (阶梯气价): the yearly usage up to the first
tier's bound at the first price, up to the next bound at the second, and so on; a month
that crosses a bound is split. Commercial gas has one price. Prices are in fen per m³.
The list itself is the organisation's setting (data/organisation.yml, organisation.gas):
收费管理制度 第2条 only says charges follow the price authority's schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import GasAccountKind
from bot.organisation import GasSettings, get_organisation


@dataclass(frozen=True)
class TierCharge:
    tier: int
    m3: int
    price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.m3 * self.price_fen


def price_usage(
    kind: GasAccountKind,
    usage_m3: int,
    used_before_m3: int = 0,
    *,
    tariff: GasSettings | None = None,
) -> list[TierCharge]:
    """The charges for `usage_m3`, after `used_before_m3` already used this calendar year,
    by `tariff` (default: the organisation's)."""
    if usage_m3 < 0 or used_before_m3 < 0:
        raise ValueError("usage cannot be negative")
    tariff = tariff or get_organisation().gas
    if kind is GasAccountKind.COMMERCIAL:
        return [TierCharge(1, usage_m3, tariff.commercial_price_fen)] if usage_m3 else []
    charges = []
    start, remaining, lower = used_before_m3, usage_m3, 0
    for number, tier in enumerate(tariff.residential_tiers, start=1):
        upper, price = tier.up_to_m3, tier.price_fen
        room = remaining if upper is None else max(0, min(remaining, upper - max(start, lower)))
        if room:
            charges.append(TierCharge(number, room, price))
            start, remaining = start + room, remaining - room
        if upper is not None:
            lower = upper
    return charges


def total_fen(charges: list[TierCharge]) -> int:
    return sum(charge.amount_fen for charge in charges)


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 12345 -> '123.45', -5 -> '-0.05'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
