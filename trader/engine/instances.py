"""Strategy instances while the trader runs: added, paused, resumed and removed, persisted in the journal.

Instances from the configuration seed the journal the first time their id is seen; after that the
journal's version wins (an operator's pause, or removal, outlives a restart).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from shared.trading import Instruments, StrategyInstance
from trader.journal import Journal


class InstanceRegistry:
    def __init__(self, journal: Journal, instruments: Instruments) -> None:
        self._journal = journal
        self._instruments = instruments
        self._by_id: dict[str, StrategyInstance] = {}
        self._touching: dict[tuple[str, str], tuple[StrategyInstance, ...]] = {}

    def load(self, configured: Iterable[StrategyInstance] = ()) -> None:
        known = self._journal.instance_ids()
        for instance in configured:
            if instance.id not in known:
                self._check(instance)
                self._journal.save_instance(instance)
        self._by_id = {instance.id: instance for instance in self._journal.instances()}
        self._index()

    def all(self) -> tuple[StrategyInstance, ...]:
        return tuple(self._by_id[key] for key in sorted(self._by_id))

    def get(self, instance_id: str) -> StrategyInstance:
        try:
            return self._by_id[instance_id]
        except KeyError:
            raise KeyError(f"no strategy instance {instance_id!r}") from None

    def touching(self, venue: str, symbol: str) -> tuple[StrategyInstance, ...]:
        """The active instances that trade `symbol` on `venue`."""
        return self._touching.get((venue, symbol), ())

    def add(self, instance: StrategyInstance) -> StrategyInstance:
        if instance.id in self._by_id:
            raise ValueError(f"strategy instance {instance.id!r} exists already")
        self._check(instance)
        return self._put(instance)

    def pause(self, instance_id: str) -> StrategyInstance:
        return self._put(self.get(instance_id).paused())

    def resume(self, instance_id: str) -> StrategyInstance:
        return self._put(self.get(instance_id).resumed())

    def remove(self, instance_id: str) -> StrategyInstance:
        instance = self.get(instance_id)
        self._journal.remove_instance(instance_id)
        del self._by_id[instance_id]
        self._index()
        return instance

    def _check(self, instance: StrategyInstance) -> None:
        if not instance.id or not instance.id.strip():
            raise ValueError("a strategy instance needs an id")
        missing = [f"{v} {s}" for v in instance.venues for s in instance.symbols if (v, s) not in self._instruments]
        if missing:
            raise ValueError(f"strategy instance {instance.id!r}: no instrument spec for {', '.join(missing)}")
        msgspec.convert(msgspec.to_builtins(instance), StrategyInstance)  # runs the params' own checks again

    def _put(self, instance: StrategyInstance) -> StrategyInstance:
        self._journal.save_instance(instance)
        self._by_id[instance.id] = instance
        self._index()
        return instance

    def _index(self) -> None:
        touching: dict[tuple[str, str], list[StrategyInstance]] = {}
        for instance in self.all():
            if instance.active:
                for venue in instance.venues:
                    for symbol in instance.symbols:
                        touching.setdefault((venue, symbol), []).append(instance)
        self._touching = {key: tuple(found) for key, found in touching.items()}
