"""The gas price list and the arithmetic of a month's bill.

Residential gas is priced in yearly tiers (阶梯气价): the first 360 m³ of a calendar year
at the first price, up to 600 m³ at the second, the rest at the third; a month that
crosses a threshold is split. Commercial gas has one price. Prices are in fen per m³
(the demo city's list; 收费管理制度 2: prices follow the price authority's schedule).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import GasAccountKind

# (upper bound of the tier in m³ per year, or None for no bound; price in fen per m³)
RESIDENTIAL_TIERS: tuple[tuple[int | None, int], ...] = ((360, 261), (600, 313), (None, 391))
COMMERCIAL_PRICE_FEN = 348


@dataclass(frozen=True)
class TierCharge:
    tier: int
    m3: int
    price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.m3 * self.price_fen


def price_usage(kind: GasAccountKind, usage_m3: int, used_before_m3: int = 0) -> list[TierCharge]:
    """The charges for `usage_m3`, after `used_before_m3` already used this calendar year."""
    if usage_m3 < 0 or used_before_m3 < 0:
        raise ValueError("usage cannot be negative")
    if kind is GasAccountKind.COMMERCIAL:
        return [TierCharge(1, usage_m3, COMMERCIAL_PRICE_FEN)] if usage_m3 else []
    charges = []
    start, remaining, lower = used_before_m3, usage_m3, 0
    for number, (upper, price) in enumerate(RESIDENTIAL_TIERS, start=1):
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
