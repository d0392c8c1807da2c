"""Moderation: the review queue over toxicity scores, claims, decisions with undo, and the numbers behind them.

Decisions are events in the append-only `moderation_decisions`; nothing there is ever updated or deleted. A post's
current state is its latest decision that no 'undo' event cancels, so undoing falls back to the decision before it
(or to undecided). A decision names the state it was taken on (`seen`: the standing decision_id, None while
undecided) and is refused (StaleDecision) if that changed meanwhile; undoing a batch needs confirm_batch=True.
Every decision also appends to `audit_log` in the same transaction. `claims` is mutable working state: which
moderator is reviewing a queued post, until when (claiming needs the 'moderate' role). All writes go through
analytics.store.
"""
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
from analytics.moderation.learning import (
    adopt,
    before_after,
    decision_labels,
    previous,
    retrain,
    rollback,
    screening,
)
from analytics.moderation.policy import ACTIONS, POLICY, REASONS, UNDO, reason_codes
from analytics.moderation.quality import (
    decisions_per_moderator,
    flag_precision,
    queue_stats,
    threshold_tuner,
)
from analytics.moderation.reports import reported_posts
from analytics.moderation.review import (
    CLAIM_TTL,
    ORDERS,
    author_history,
    claim_next,
    nearest_policy_examples,
    queue,
    release,
    thread_context,
)
from analytics.moderation.thresholds import (
    THRESHOLDS_KEY,
    abuse_thresholds,
    save_abuse_thresholds,
    save_thresholds,
    thresholds,
)

__all__ = ["abuse_thresholds", "ACTIONS", "adopt", "as_seen", "audit", "author_history", "before_after",
           "bulk_decide", "BulkResult", "Changed", "CHUNK", "claim_next", "CLAIM_THRESHOLD", "CLAIM_TTL",
           "ClaimedByOther", "ConfirmBatchUndo", "current_states", "decide", "decision_labels",
           "decisions_per_moderator", "DEFAULT_THRESHOLDS", "FAMILIES", "flag_precision", "LABELS",
           "nearest_policy_examples", "NOT_SCREENED", "ORDERS", "POLICY", "post_states", "previous", "queue",
           "queue_stats", "reason_codes", "REASONS", "release", "reopen", "reported_posts", "retrain", "rollback",
           "save_abuse_thresholds", "save_thresholds", "screening", "seen_state", "StaleDecision", "StaleUndo",
           "SYSTEM", "thread_context", "threshold_tuner", "thresholds", "THRESHOLDS_KEY", "UNDO", "undo_last",
           "undo_preview"]
