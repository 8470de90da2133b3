"""The async connection scope and transactions of vinyl (``vinyl.query._sync`` is the sync twin)."""

from vinyl.query._async.execute import fetch_queryset
from vinyl.query._async.pools import close_pools, get_pool
from vinyl.query._async.scope import connection
from vinyl.query._async.transaction import on_commit, transaction

__all__ = ["close_pools", "connection", "fetch_queryset", "get_pool", "on_commit", "transaction"]
