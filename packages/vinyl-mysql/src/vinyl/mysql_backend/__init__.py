"""The Django ENGINE ``vinyl.mysql_backend``: Django's MySQL backend, made vinyl's."""
