"""SQL building and row decoding for vinyl on top of Django's ``Query``/``SQLCompiler``.

Imports no driver and nothing from ``vinyl.model``. The I/O half (connection scope, pools,
transactions) lives in ``vinyl.query._async`` and its generated twin ``vinyl.query._sync``.
"""

from vinyl.query.compiler import CompiledQuery, compile_query, compile_statement, compile_with
from vinyl.query.databases import Backend, get_backend
from vinyl.query.decode import decode

__all__ = [
    "Backend",
    "CompiledQuery",
    "compile_query",
    "compile_statement",
    "compile_with",
    "decode",
    "get_backend",
]
