"""The exposure the engine carries: arbitrages in flight, those that ended unhedged (their reports),
and the unwinding fills an operator's flatten added. Per asset over every venue, and venue by venue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.trading import ArbitrageAttempt, Fill
from trader.engine.pnl import exposure_by_venue
from trader.engine.reports import ExposureUnhedged

ZERO = Decimal(0)
Table = dict[str, dict[str, Decimal]]


class ExposureBook:
    def __init__(self, valuation_asset: str) -> None:
        self.valuation_asset = valuation_asset
        self._reports: dict[str, ExposureUnhedged] = {}
        self._unwinds: list[Fill] = []

    def add_report(self, report: ExposureUnhedged) -> None:
        self._reports[report.attempt_id] = report

    def add_unwind(self, fill: Fill) -> None:
        self._unwinds.append(fill)

    def reports(self) -> tuple[ExposureUnhedged, ...]:
        return tuple(self._reports.values())

    def unhedged(self) -> dict[str, Decimal]:
        """Net per asset left by unhedged arbitrages, less what unwinding has closed; zeros left out."""
        return self._sum(self._reports.values(), ())[0]

    def total(self, in_flight: Iterable[ArbitrageAttempt]) -> tuple[dict[str, Decimal], Table]:
        return self._sum(self._reports.values(), in_flight)

    def _sum(self, reports: Iterable[ExposureUnhedged], attempts: Iterable[ArbitrageAttempt]) -> tuple[dict[str, Decimal], Table]:
        by_venue: Table = {}
        for report in reports:
            _merge(by_venue, report.by_venue)
        for attempt in attempts:
            _merge(by_venue, exposure_by_venue(attempt))
        for fill in self._unwinds:
            _merge(by_venue, {fill.venue: {a: d for a, d in fill.deltas().items() if a != self.valuation_asset}})
        by_venue = {v: {a: d for a, d in sorted(row.items()) if d} for v, row in sorted(by_venue.items())}
        by_venue = {v: row for v, row in by_venue.items() if row}
        net: dict[str, Decimal] = {}
        for row in by_venue.values():
            for asset, amount in row.items():
                net[asset] = net.get(asset, ZERO) + amount
        return {a: d for a, d in sorted(net.items()) if d}, by_venue


def _merge(into: Table, table: Mapping[str, Mapping[str, Decimal]]) -> None:
    for venue, row in table.items():
        target = into.setdefault(venue, {})
        for asset, amount in row.items():
            target[asset] = target.get(asset, ZERO) + amount
