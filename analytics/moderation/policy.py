"""The moderation policy: reason codes and which go with each action."""
from __future__ import annotations

# Reason codes offered to moderators, in display order.
POLICY = {
    "harassment": "Targets a person with abuse, insults or bullying",
    "hate": "Attacks people for a protected characteristic",
    "threat": "Threatens or incites violence",
    "sexual": "Sexual content or sexualised abuse",
    "spam": "Spam, scams or platform manipulation",
    "self_harm": "Encourages or depicts self-harm",
    "misinformation": "Harmful false claims",
    "other": "Another violation (explain in the note)",
    "no_violation": "Breaks no rule",
    "context_ok": "Strong words that are fine in context (quote, reclaimed term, banter)",
    "satire": "Satire or obvious humour",
}
_ALLOWED = ("no_violation", "context_ok", "satire")
_VIOLATIONS = tuple(code for code in POLICY if code not in _ALLOWED)
REASONS = {"approve": _ALLOWED, "remove": _VIOLATIONS, "escalate": _VIOLATIONS}
ACTIONS = tuple(REASONS)  # what decide() records; 'undo' events come only from undo_last()
UNDO = "undo"


def reason_codes(action: str) -> tuple[str, ...]:
    """Reason codes (keys of POLICY) allowed with `action`."""
    if action not in REASONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    return REASONS[action]
