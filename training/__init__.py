"""Offline training of the project's models; outside the app's import path (the app never imports it)."""
