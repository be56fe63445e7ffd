"""Pieces of the app's pages: how a run, its live charts and its results are shown."""
