"""The Django ENGINE ``vinyl.postgresql_backend``: Django's PostgreSQL backend, made vinyl's."""
