"""'For You' feeds: the reader's context, candidates, filters, scoring, MMR and explanations (pipeline), the
embedding index, who to follow and topics to explore (suggestions), offline evaluation, and reader lookup."""
from analytics.feed.context import POSITIVE, PROOF, UserContext, persona_context, user_context
from analytics.feed.index import DIM, EmbeddingIndex, data_end, embeddings, relatedness, typical_cosine
from analytics.feed.pipeline import (COMPONENTS, FILTERS, SOURCES, Feed, Settings, Weights, apply_filters, candidates,
                                     explain, in_network, mmr, overlap, popular, recommend, rerank, score, similar,
                                     similarity_matrix)
from analytics.feed.readers import following_feed, search_users, user_profile
from analytics.feed.suggestions import topic_suggestions, who_to_follow

__all__ = ["COMPONENTS", "DIM", "FILTERS", "POSITIVE", "PROOF", "SOURCES", "EmbeddingIndex", "Feed", "Settings",
           "UserContext", "Weights", "apply_filters", "candidates", "data_end", "embeddings", "explain",
           "following_feed", "in_network", "mmr", "overlap", "persona_context", "popular", "recommend", "relatedness",
           "rerank", "score", "search_users", "similar", "similarity_matrix", "topic_suggestions", "typical_cosine",
           "user_context", "user_profile", "who_to_follow"]
