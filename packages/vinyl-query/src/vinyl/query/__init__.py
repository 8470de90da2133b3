"""SQL building and row decoding for vinyl on top of Django's ``Query``/``SQLCompiler``.

Imports no driver and nothing from ``vinyl.model``.
"""

__all__: list[str] = []
