"""What approved and running arbitrages will still take: the orders they will place, and the funds they will
spend, so that the risk manager and the strategies count them before they show in the venue's records.

An approval holds its proposal's orders and funding (`Proposal.funding`: a chained leg on the same venue
spends its predecessor's yield, not the balance) from the moment it is approved, through the wait for its
controller, until its attempt settles. A running attempt counts every leg and hedge not yet final as an
order it will place (or has open). Its funding stays reserved until it settles, less what its fills had
already spent when the balances were last read from the executor (those balances show it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.trading import ArbitrageAttempt, Balances, LegStatus, Proposal

ZERO = Decimal(0)
_PENDING = (LegStatus.PROPOSED, LegStatus.SENT, LegStatus.PARTIALLY_FILLED)
Funds = dict[tuple[str, str], Decimal]


class Commitments:
    def __init__(self) -> None:
        self._approved: dict[str, Proposal] = {}  # proposal id -> an approval not yet handed to a controller
        self._plans: dict[str, Funds] = {}  # attempt id -> the funding its proposal reserves
        self._reflected: dict[str, Funds] = {}  # attempt id -> its spending the last balance read already shows
        # Strategies ask for the available balances on every event, and they change only with the balances
        # (replaced, never mutated) or the commitments: the last answer, for those balances at this version.
        self._version = 0
        self._memo: tuple[Balances, int, Balances] | None = None

    # an approval's life -----------------------------------------------------------------

    def approved(self, proposal: Proposal) -> None:
        self._approved[proposal.id] = proposal
        self._version += 1

    def started(self, proposal_id: str, attempt_id: str | None, plan: Proposal) -> None:
        """The approval `proposal_id` became the attempt `attempt_id` trading `plan` (None: it was withdrawn)."""
        self._approved.pop(proposal_id, None)
        if attempt_id is not None:
            self._plans[attempt_id] = plan.funding()
        self._version += 1

    def settled(self, attempt_id: str) -> None:
        self._plans.pop(attempt_id, None)
        self._reflected.pop(attempt_id, None)
        self._version += 1

    def balances_read(self, attempts: Iterable[ArbitrageAttempt]) -> None:
        """Called as balances are read from the executor: what each running attempt has spent shows in them."""
        self._reflected = {a.id: spent(a) for a in attempts if a.id in self._plans}
        self._version += 1

    # what is held -----------------------------------------------------------------------

    def orders(self, attempts: Iterable[ArbitrageAttempt]) -> int:
        """Orders the approvals and running attempts have open or will still place."""
        waiting = sum(len(p.legs) for p in self._approved.values())
        return waiting + sum(1 for a in attempts for leg in (*a.legs, *a.hedges) if leg.status in _PENDING)

    def held(self) -> Funds:
        held: Funds = {}
        for proposal in self._approved.values():
            _add(held, proposal.funding())
        for attempt_id, plan in self._plans.items():
            shown = self._reflected.get(attempt_id, {})
            _add(held, {key: max(ZERO, need - shown.get(key, ZERO)) for key, need in plan.items()})
        return held

    def available(self, balances: Balances) -> Balances:
        """`balances` with what is held taken off the free amounts."""
        memo = self._memo
        if memo is not None and memo[0] is balances and memo[1] == self._version:
            return memo[2]
        available = self._available(balances)
        self._memo = (balances, self._version, available)
        return available

    def _available(self, balances: Balances) -> Balances:
        held = {key: amount for key, amount in self.held().items() if amount > 0}
        if not held:
            return balances
        for venue in {venue for venue, _ in held}:
            balances = balances.adjusted(venue, {asset: -amount for (v, asset), amount in held.items() if v == venue},
                                         _account(balances, venue))
        return balances


def spent(attempt: ArbitrageAttempt) -> Funds:
    """What the attempt's fills took from each venue's balances, per (venue, asset)."""
    out: Funds = {}
    for leg in (*attempt.legs, *attempt.hedges):
        for fill in leg.fills:
            for asset, delta in fill.deltas().items():
                if delta < 0:
                    out[(fill.venue, asset)] = out.get((fill.venue, asset), ZERO) - delta
    return out


def _add(into: Funds, funds: Mapping[tuple[str, str], Decimal]) -> None:
    for key, amount in funds.items():
        into[key] = into.get(key, ZERO) + amount


def _account(balances: Balances, venue: str) -> str:
    return next((b.account for (v, _), b in balances.items() if v == venue), "main")
