"""The risk manager's answer to a proposal: approved, resized or denied, always with a reason."""

from __future__ import annotations

import msgspec

from shared.trading.enums import DecisionReason, Verdict
from shared.trading.proposals import Proposal


class Decision(msgspec.Struct, frozen=True):
    proposal_id: str
    instance_id: str
    verdict: Verdict
    reason: DecisionReason
    detail: str  # human-readable: which limit, by how much
    proposal: Proposal  # what may be executed: the original, or the resized one; for a denial, the original
    ts_event: int  # when it was decided

    @property
    def approved(self) -> bool:
        return self.verdict is not Verdict.DENIED

    @classmethod
    def approve(cls, proposal: Proposal, ts: int, detail: str = "within every limit") -> Decision:
        return cls(proposal.id, proposal.instance_id, Verdict.APPROVED, DecisionReason.OK, detail, proposal, ts)

    @classmethod
    def resize(cls, original: Proposal, resized: Proposal, reason: DecisionReason, detail: str, ts: int) -> Decision:
        return cls(original.id, original.instance_id, Verdict.RESIZED, reason, detail, resized, ts)

    @classmethod
    def deny(cls, proposal: Proposal, reason: DecisionReason, detail: str, ts: int) -> Decision:
        return cls(proposal.id, proposal.instance_id, Verdict.DENIED, reason, detail, proposal, ts)
