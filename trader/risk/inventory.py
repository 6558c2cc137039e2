"""Inventory: per venue, the balances each active strategy instance needs, direction by direction.

A direction whose balance on a venue is short of what it needs stops (the risk manager denies its
proposals), and the report says which transfer would restore it: from the venue with the largest
surplus of that asset (its free balance beyond what its own instances need), or a deposit when no
venue has enough to spare. Making transfers is out of scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.trading import Balances
from trader.strategies import Requirement

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Transfer:
    asset: str
    amount: Decimal
    to_venue: str
    from_venue: str | None  # None: no venue can spare it; a deposit is needed

    def __str__(self) -> str:
        if self.from_venue is None:
            return f"deposit {self.amount} {self.asset} to {self.to_venue}"
        return f"transfer {self.amount} {self.asset} from {self.from_venue} to {self.to_venue}"


@dataclass(frozen=True, slots=True)
class Shortfall:
    requirement: Requirement
    available: Decimal
    transfer: Transfer

    @property
    def missing(self) -> Decimal:
        return self.requirement.amount - self.available

    def __str__(self) -> str:
        need = self.requirement
        return (
            f"{need.venue} is short {self.missing} {need.asset} for {need.instance_id} {need.direction} "
            f"(needs {need.amount}, has {self.available}): {self.transfer}"
        )


@dataclass(frozen=True, slots=True)
class InventoryReport:
    needs: dict[tuple[str, str], Decimal]  # (venue, asset) -> the most any one active direction needs there
    shortfalls: tuple[Shortfall, ...]

    def blocked(self, instance_id: str, direction: str) -> Shortfall | None:
        for shortfall in self.shortfalls:
            if shortfall.requirement.instance_id == instance_id and shortfall.requirement.direction == direction:
                return shortfall
        return None


def assess(requirements: Iterable[Requirement], balances: Balances) -> InventoryReport:
    needs_list = list(requirements)
    # Instances and directions on one venue trade one after another, each against the whole balance,
    # so a venue needs the largest single requirement, not the sum.
    needs: dict[tuple[str, str], Decimal] = {}
    for need in needs_list:
        key = (need.venue, need.asset)
        needs[key] = max(needs.get(key, ZERO), need.amount)
    shortfalls = []
    for need in needs_list:
        available = balances.free(need.venue, need.asset)
        if available < need.amount:
            missing = need.amount - available
            shortfalls.append(Shortfall(need, available, Transfer(need.asset, missing, need.venue, _donor(need, missing, needs, balances))))
    return InventoryReport(needs, tuple(shortfalls))


def _donor(need: Requirement, missing: Decimal, needs: dict[tuple[str, str], Decimal], balances: Balances) -> str | None:
    best, best_surplus = None, ZERO
    for venue, asset in balances:
        if asset != need.asset or venue == need.venue:
            continue
        surplus = balances.free(venue, asset) - needs.get((venue, asset), ZERO)
        if surplus >= missing and surplus > best_surplus:
            best, best_surplus = venue, surplus
    return best
