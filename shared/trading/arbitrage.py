"""An arbitrage attempt: a pure state machine over its legs and hedges.

    proposed -> sent -> partially filled -> filled
                             \\-> hedging -> done
                                         \\-> failed-unhedged
    proposed | sent (nothing filled) -> aborted

Every method returns the next immutable attempt or raises `InvalidTransition`. The controller (the
service) decides what to do when a leg fails: `sent` again (a retry), `start_hedging` with orders
that close the exposure, or `abandon` (aborted when nothing filled, failed-unhedged otherwise, which
the service reports and counts). A fill is a fact and is always recorded, even late: a fill after
`done` or `aborted` reopens exposure, so the attempt becomes failed-unhedged rather than hiding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from shared.trading.enums import ArbitrageState, LegStatus, StrategyKind
from shared.trading.orders import Fill, InvalidTransition
from shared.trading.proposals import Leg, Proposal

ZERO = Decimal(0)
_A = ArbitrageState
_L = LegStatus

_NEXT: dict[ArbitrageState, frozenset[ArbitrageState]] = {
    _A.PROPOSED: frozenset({_A.SENT, _A.ABORTED}),
    _A.SENT: frozenset({_A.SENT, _A.PARTIALLY_FILLED, _A.FILLED, _A.ABORTED}),
    _A.PARTIALLY_FILLED: frozenset({_A.PARTIALLY_FILLED, _A.FILLED, _A.HEDGING, _A.FAILED_UNHEDGED}),
    _A.HEDGING: frozenset({_A.HEDGING, _A.DONE, _A.FAILED_UNHEDGED}),
    _A.FILLED: frozenset(),
    _A.DONE: frozenset({_A.FAILED_UNHEDGED}),  # a late fill
    _A.ABORTED: frozenset({_A.FAILED_UNHEDGED}),  # a late fill
    _A.FAILED_UNHEDGED: frozenset({_A.FAILED_UNHEDGED}),  # further late fills
}


class ArbitrageLeg(msgspec.Struct, frozen=True):
    """One planned order of the attempt (or of its hedge) and what became of it."""

    leg: Leg
    status: LegStatus = LegStatus.PROPOSED
    filled: Decimal = ZERO
    orders: tuple[str, ...] = ()  # client order ids sent for it, retries included
    fills: tuple[Fill, ...] = ()
    reason: str = ""  # why it failed or was skipped

    @property
    def remaining(self) -> Decimal:
        return self.leg.amount - self.filled

    def sent(self, client_order_id: str) -> ArbitrageLeg:
        if self.status not in (_L.PROPOSED, _L.FAILED):
            raise InvalidTransition(f"leg {self.leg.venue} {self.leg.symbol} is {self.status}: it cannot be sent again")
        if client_order_id in self.orders:
            raise InvalidTransition(f"order {client_order_id} was already sent for this leg")
        if self.remaining <= 0:
            raise InvalidTransition(f"leg {self.leg.venue} {self.leg.symbol} has nothing left to send")
        status = _L.PARTIALLY_FILLED if self.filled > 0 else _L.SENT
        return msgspec.structs.replace(self, status=status, orders=(*self.orders, client_order_id), reason="")

    def filled_by(self, fill: Fill) -> ArbitrageLeg:
        if fill.client_order_id not in self.orders:
            raise InvalidTransition(f"fill {fill.trade_id} is for {fill.client_order_id}, not an order of this leg")
        if fill.amount > self.remaining:
            raise InvalidTransition(f"fill {fill.trade_id} of {fill.amount} exceeds the {self.remaining} left on the leg")
        filled = self.filled + fill.amount
        if filled == self.leg.amount:
            status = _L.FILLED
        elif self.status is _L.FAILED:
            status = _L.FAILED  # a late fill of an order already given up on: recorded, still failed
        else:
            status = _L.PARTIALLY_FILLED
        return msgspec.structs.replace(self, status=status, filled=filled, fills=(*self.fills, fill))

    def failed(self, reason: str) -> ArbitrageLeg:
        if self.status not in (_L.SENT, _L.PARTIALLY_FILLED):
            raise InvalidTransition(f"leg {self.leg.venue} {self.leg.symbol} is {self.status}: only a sent leg can fail")
        return msgspec.structs.replace(self, status=_L.FAILED, reason=reason)

    def skipped(self, reason: str) -> ArbitrageLeg:
        return msgspec.structs.replace(self, status=_L.SKIPPED, reason=reason) if self.status is _L.PROPOSED else self


class ArbitrageAttempt(msgspec.Struct, frozen=True):
    id: str
    proposal_id: str
    instance_id: str
    kind: StrategyKind
    profit_asset: str
    legs: tuple[ArbitrageLeg, ...]
    deadline_ns: int  # by when every leg must be filled or hedged
    ts_init: int
    ts_last: int
    state: ArbitrageState = ArbitrageState.PROPOSED
    hedges: tuple[ArbitrageLeg, ...] = ()
    reason: str = ""

    @classmethod
    def from_proposal(cls, proposal: Proposal, attempt_id: str, ts: int, time_bound_ns: int) -> ArbitrageAttempt:
        return cls(
            id=attempt_id,
            proposal_id=proposal.id,
            instance_id=proposal.instance_id,
            kind=proposal.kind,
            profit_asset=proposal.profit_asset,
            legs=tuple(ArbitrageLeg(leg) for leg in proposal.legs),
            deadline_ns=ts + time_bound_ns,
            ts_init=ts,
            ts_last=ts,
        )

    # queries ------------------------------------------------------------------

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    def is_overdue(self, now: int) -> bool:
        return not self.is_final and now > self.deadline_ns

    @property
    def anything_filled(self) -> bool:
        return any(leg.filled > 0 for leg in (*self.legs, *self.hedges))

    def exposure(self) -> dict[str, Decimal]:
        """Net change per asset over every venue from all fills, apart from the profit asset; zeros left out.

        A completed cross-exchange trade nets its base out across the two venues; what remains is the
        leftover under one lot (dust) or, after a failure, the exposure still to be hedged.
        """
        net: dict[str, Decimal] = {}
        for leg in (*self.legs, *self.hedges):
            for fill in leg.fills:
                for asset, delta in fill.deltas().items():
                    net[asset] = net.get(asset, ZERO) + delta
        return {asset: amount for asset, amount in sorted(net.items()) if amount and asset != self.profit_asset}

    def order_ids(self) -> tuple[str, ...]:
        return tuple(cid for leg in (*self.legs, *self.hedges) for cid in leg.orders)

    # transitions --------------------------------------------------------------

    def sent(self, index: int, client_order_id: str, ts: int) -> ArbitrageAttempt:
        """Leg `index` was handed to its executor (first time, or a retry after it failed)."""
        self._require(_A.PROPOSED, _A.SENT, _A.PARTIALLY_FILLED, doing="send a leg")
        legs = _replace_at(self.legs, index, self._leg(index).sent(client_order_id))
        return self._to(self._progress(legs), ts, legs=legs)

    def filled(self, index: int, fill: Fill, ts: int) -> ArbitrageAttempt:
        legs = _replace_at(self.legs, index, self._leg(index).filled_by(fill))
        if self.state is _A.HEDGING:
            return self._to(_A.DONE if _settled(legs, self.hedges) else _A.HEDGING, ts, legs=legs)
        if self.state is _A.FAILED_UNHEDGED:
            return self._to(self.state, ts, legs=legs)
        if self.state in (_A.DONE, _A.ABORTED):
            return self._to(_A.FAILED_UNHEDGED, ts, legs=legs, reason=f"late fill {fill.trade_id} after the attempt was {self.state}")
        return self._to(self._progress(legs), ts, legs=legs)

    def failed(self, index: int, reason: str, ts: int) -> ArbitrageAttempt:
        """Leg `index`'s order ended short (rejected, canceled, timed out); the controller retries, hedges or abandons."""
        legs = _replace_at(self.legs, index, self._leg(index).failed(reason))
        settled = self.state is _A.HEDGING and _settled(legs, self.hedges)
        return self._to(_A.DONE if settled else self.state, ts, legs=legs)

    def start_hedging(self, hedges: Sequence[Leg], reason: str, ts: int) -> ArbitrageAttempt:
        """Close the exposure with `hedges` (orders that complete or unwind it); legs not yet sent are skipped."""
        self._require(_A.PARTIALLY_FILLED, _A.HEDGING, doing="start hedging")
        if not hedges:
            raise InvalidTransition(f"arbitrage {self.id}: hedging needs at least one hedge order")
        legs = tuple(leg.skipped("replaced by a hedge") for leg in self.legs)
        added = tuple(ArbitrageLeg(leg) for leg in hedges)
        return self._to(_A.HEDGING, ts, legs=legs, hedges=(*self.hedges, *added), reason=reason)

    def hedge_sent(self, index: int, client_order_id: str, ts: int) -> ArbitrageAttempt:
        self._require(_A.HEDGING, doing="send a hedge")
        hedges = _replace_at(self.hedges, index, self._hedge(index).sent(client_order_id))
        return self._to(_A.HEDGING, ts, hedges=hedges)

    def hedge_filled(self, index: int, fill: Fill, ts: int) -> ArbitrageAttempt:
        self._require(_A.HEDGING, _A.FAILED_UNHEDGED, doing="record a hedge fill")
        hedges = _replace_at(self.hedges, index, self._hedge(index).filled_by(fill))
        done = self.state is _A.HEDGING and _settled(self.legs, hedges)
        return self._to(_A.DONE if done else self.state, ts, hedges=hedges)

    def hedge_failed(self, index: int, reason: str, ts: int) -> ArbitrageAttempt:
        self._require(_A.HEDGING, doing="fail a hedge")
        hedges = _replace_at(self.hedges, index, self._hedge(index).failed(reason))
        return self._to(_A.HEDGING, ts, hedges=hedges)

    def abandon(self, reason: str, ts: int) -> ArbitrageAttempt:
        """Stop trying: aborted if nothing filled, failed-unhedged (to be reported) if anything did."""
        self._require(_A.PROPOSED, _A.SENT, _A.PARTIALLY_FILLED, _A.HEDGING, doing="abandon it")
        state = _A.FAILED_UNHEDGED if self.anything_filled else _A.ABORTED
        legs = tuple(leg.skipped(reason) for leg in self.legs)
        return self._to(state, ts, legs=legs, reason=reason)

    # internals ----------------------------------------------------------------

    def _leg(self, index: int) -> ArbitrageLeg:
        if not 0 <= index < len(self.legs):
            raise InvalidTransition(f"arbitrage {self.id} has no leg {index}")
        return self.legs[index]

    def _hedge(self, index: int) -> ArbitrageLeg:
        if not 0 <= index < len(self.hedges):
            raise InvalidTransition(f"arbitrage {self.id} has no hedge {index}")
        return self.hedges[index]

    def _require(self, *states: ArbitrageState, doing: str) -> None:
        if self.state not in states:
            raise InvalidTransition(f"arbitrage {self.id} is {self.state}: cannot {doing}")

    @staticmethod
    def _progress(legs: tuple[ArbitrageLeg, ...]) -> ArbitrageState:
        if all(leg.status is _L.FILLED for leg in legs):
            return _A.FILLED
        if any(leg.filled > 0 for leg in legs):
            return _A.PARTIALLY_FILLED
        if any(leg.status is not _L.PROPOSED for leg in legs):
            return _A.SENT
        return _A.PROPOSED

    def _to(self, state: ArbitrageState, ts: int, **changes: object) -> ArbitrageAttempt:
        if state is not self.state and state not in _NEXT[self.state]:
            raise InvalidTransition(f"arbitrage {self.id}: {self.state} -> {state} is not a valid transition")
        return msgspec.structs.replace(self, state=state, ts_last=ts, **changes)


def _settled(legs: tuple[ArbitrageLeg, ...], hedges: tuple[ArbitrageLeg, ...]) -> bool:
    """Hedging is over once every hedge filled and no leg's order can still fill (a resting maker order
    of limit-then-hedge keeps its attempt hedging until it fills or is canceled)."""
    return all(h.status is _L.FILLED for h in hedges) and not any(leg.status in (_L.SENT, _L.PARTIALLY_FILLED) for leg in legs)


def _replace_at(items: tuple[ArbitrageLeg, ...], index: int, item: ArbitrageLeg) -> tuple[ArbitrageLeg, ...]:
    return (*items[:index], item, *items[index + 1 :])
