"""Models the tests read and write; one module per area under ``models/``."""
