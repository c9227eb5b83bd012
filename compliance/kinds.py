"""The kinds of reminders (to emitters) and alerts (to provincial officers), and how they rank."""

from __future__ import annotations

EMITTER_KINDS = (
    "submit_application",
    "await_confirmation",
    "cancel_ccer",
    "submit_compliance",
    "compliance_deadline",
)
OFFICER_KINDS = (
    "weekly_summary_due",
    "applications_pending",
    "target_95",
    "target_100",
    "noncompliance_report_due",
)
ALL_KINDS = EMITTER_KINDS + OFFICER_KINDS

# When two kinds due the same morning share a deadline, the earlier one here leads the message.
# compliance_deadline outranks cancel_ccer and submit_compliance: on the last day the deadline itself
# is the message, the step that is still missing is what it adds.
# Later cycles have one deadline for everything: there too the deadline leads, since offsetting is optional.
TIE_ORDER = (
    "compliance_deadline",
    "submit_application",
    "await_confirmation",
    "cancel_ccer",
    "submit_compliance",
    *OFFICER_KINDS,
)


def tie_rank(kind: str) -> int:
    return TIE_ORDER.index(kind)
