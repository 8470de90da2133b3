"""The async connection scope, transactions and pool base (``vinyl.query._sync``: sync twin)."""

from vinyl.query._async.execute import (
    execute_insert_sql,
    execute_sql,
    fetch,
    fetch_queryset,
    fetch_sql,
    fetch_sql_with_columns,
    fetch_with_columns,
)
from vinyl.query._async.pools import close_pools, get_pool, started_pool
from vinyl.query._async.scope import connection
from vinyl.query._async.slots import BasePool
from vinyl.query._async.transaction import mark_for_rollback_on_error, on_commit, transaction

__all__ = [
    "BasePool",
    "close_pools",
    "connection",
    "execute_insert_sql",
    "execute_sql",
    "fetch",
    "fetch_queryset",
    "fetch_sql",
    "fetch_sql_with_columns",
    "fetch_with_columns",
    "get_pool",
    "mark_for_rollback_on_error",
    "on_commit",
    "started_pool",
    "transaction",
]
