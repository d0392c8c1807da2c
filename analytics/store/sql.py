"""SQL fragments shared by the read queries of several domains."""

# A post's moderation state is its latest decision that no later 'undo' event cancels (decisions are append-only).
NOT_UNDONE = """d.action <> 'undo'
    AND NOT EXISTS (SELECT 1 FROM moderation_decisions u WHERE u.action = 'undo' AND u.undoes = d.decision_id)"""
STATES_CTE = f"""states AS (
    SELECT post_id, action AS state, decision_id, moderator, reason_code, created_at AS decided_at
    FROM moderation_decisions d WHERE {NOT_UNDONE}
    QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY decision_id DESC) = 1)"""
