"""Analyst views: the shared post filter, queries, sentiment trends, terms and spike explanations, spikes, clouds."""
