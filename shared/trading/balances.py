"""Balances per venue and asset: what strategies size against and the risk manager checks.

The trader trades one account per venue, so `Balances` is keyed by (venue, asset); each `Balance`
still names its account for the executor's per-(venue, account) queues and the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

import msgspec

ZERO = Decimal(0)


class Balance(msgspec.Struct, frozen=True):
    venue: str
    account: str
    asset: str
    free: Decimal
    locked: Decimal = ZERO  # held by open orders

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Balances(Mapping[tuple[str, str], Balance]):
    """An immutable snapshot of balances; missing entries read as zero."""

    __slots__ = ("_by_key",)

    def __init__(self, balances: Iterable[Balance] = ()) -> None:
        self._by_key = {(b.venue, b.asset): b for b in balances}

    def __getitem__(self, key: tuple[str, str]) -> Balance:
        return self._by_key[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def free(self, venue: str, asset: str) -> Decimal:
        balance = self._by_key.get((venue, asset))
        return balance.free if balance else ZERO

    def total(self, venue: str, asset: str) -> Decimal:
        balance = self._by_key.get((venue, asset))
        return balance.total if balance else ZERO

    def venues(self) -> set[str]:
        return {venue for venue, _ in self._by_key}

    def assets(self) -> set[str]:
        return {asset for _, asset in self._by_key}

    def adjusted(self, venue: str, changes: Mapping[str, Decimal], account: str = "main") -> Balances:
        """These balances after free amounts on `venue` change by `changes` (a fill's deltas, say)."""
        updated = dict(self._by_key)
        for asset, delta in changes.items():
            old = updated.get((venue, asset)) or Balance(venue, account, asset, ZERO)
            updated[(venue, asset)] = msgspec.structs.replace(old, free=old.free + delta)
        return Balances(updated.values())

    def as_tuple(self) -> tuple[Balance, ...]:
        """For the journal and the wire: a sorted tuple that msgspec encodes."""
        return tuple(self._by_key[key] for key in sorted(self._by_key))
