"""Test support shared by every vinyl package: settings, databases and fixtures.

Not distributed. Tests talk to real servers; see ``scripts/services.sh``.
"""
