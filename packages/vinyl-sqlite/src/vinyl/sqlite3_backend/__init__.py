"""The Django ENGINE ``vinyl.sqlite3_backend``: Django's SQLite backend, made vinyl's."""
