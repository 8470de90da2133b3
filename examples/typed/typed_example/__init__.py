"""A typed example: vinyl's reads as mypy --strict sees them (see queries.py)."""
