"""Loads vinyl's shared pytest plugin (``testing/vinyl_testing/plugin.py``) for every package."""

pytest_plugins = ["vinyl_testing.plugin"]
