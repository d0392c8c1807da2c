"""Moderation: the review queue over toxicity scores, claims, decisions with undo, and the numbers behind them.

Decisions are events in the append-only `moderation_decisions`; nothing there is ever updated or deleted. A post's
current state is its latest decision that no 'undo' event cancels, so undoing falls back to the decision before it
(or to undecided). A decision names the state it was taken on (`seen`: the standing decision_id, None while
undecided) and is refused (StaleDecision) if that changed meanwhile; undoing a batch needs confirm_batch=True.
Every decision also appends to `audit_log` in the same transaction. `claims` is mutable working state: which
moderator is reviewing a queued post, until when (claiming needs the 'moderate' role). All writes go through
analytics.store.
"""
from analytics.models import abuse as _abuse
from analytics.models.registry import DEFAULT_THRESHOLDS
from analytics.models.registry import TOXICITY_LABELS as LABELS
from analytics.moderation.decisions import (
    CHUNK,
    SYSTEM,
    BulkResult,
    Changed,
    ClaimedByOther,
    ConfirmBatchUndo,
    StaleDecision,
    StaleUndo,
    as_seen,
    audit,
    bulk_decide,
    current_states,
    decide,
    post_states,
    reopen,
    seen_state,
    undo_last,
    undo_preview,
)
from analytics.moderation.flags import FAMILIES, NOT_SCREENED
from analytics.moderation.known_claims import THRESHOLD as CLAIM_THRESHOLD
from analytics.moderation.policy import ACTIONS, POLICY, REASONS, UNDO, reason_codes
from analytics.moderation.quality import decisions_per_moderator, flag_precision, queue_stats, threshold_tuner
from analytics.moderation.reports import reported_posts
from analytics.moderation.review import (CLAIM_TTL, ORDERS, author_history, claim_next, nearest_policy_examples, queue,
                                        release, thread_context)
from analytics.moderation.thresholds import THRESHOLDS_KEY, save_thresholds, thresholds

ABUSE_THRESHOLDS = _abuse.meta().thresholds  # the meaning model's per-category flag thresholds
ABUSE_CORROBORATE = _abuse.meta().corroborate  # P(abuse) a BiLSTM flag needs from the meaning model

__all__ = ["ABUSE_CORROBORATE", "ABUSE_THRESHOLDS", "ACTIONS", "CHUNK", "CLAIM_THRESHOLD", "CLAIM_TTL", "BulkResult", "Changed", "ClaimedByOther",
           "ConfirmBatchUndo", "DEFAULT_THRESHOLDS", "FAMILIES", "LABELS", "NOT_SCREENED", "ORDERS", "POLICY",
           "REASONS", "SYSTEM", "StaleDecision",
           "StaleUndo", "THRESHOLDS_KEY", "UNDO", "as_seen", "audit", "author_history", "bulk_decide", "claim_next",
           "current_states", "decide", "decisions_per_moderator", "flag_precision", "nearest_policy_examples", "post_states", "queue",
           "queue_stats", "reason_codes", "release", "reopen", "reported_posts", "save_thresholds", "seen_state",
           "thread_context", "threshold_tuner", "thresholds", "undo_last", "undo_preview"]
