"""The write path: every write of vinyl-model ends in :func:`run`.

A write is planned without I/O (``vinyl.model._writes``: a generator that yields the steps
it needs); :func:`run` performs those steps in order and sends each result back. A write
of one statement outside a ``transaction()`` block runs as that statement alone (the
server's autocommit makes it atomic, with no ``BEGIN``/``COMMIT`` round trips); a write
that may need more (a save with parents, a cascading delete, several batches) runs in a
block of its own, or joins the caller's block (ARCHITECTURE §3.4).
"""

from __future__ import annotations

from typing import Any

from vinyl.model import _replay
from vinyl.model._writes import Insert, Plan, Read, Step
from vinyl.query._async import (
    execute_insert_sql,
    execute_sql,
    fetch_sql,
    get_pool,
    mark_for_rollback_on_error,
    started_pool,
    transaction,
)
from vinyl.query._async.scope import current_scope
from vinyl.query.databases import get_backend
from vinyl.query.djangoatomic import aprepare_django_join, django_transaction

__all__ = ["run"]


async def run[T](alias: str, plan: Plan[T], queryset_class: type[Any], *, atomic: bool) -> T:
    """Perform the steps of *plan* on the vinyl alias *alias*; return what *plan* returns.

    With *atomic*, every step runs in one transaction: a ``transaction(savepoint=False)``
    block, so inside the caller's block an error rolls the caller's block back, as
    Django's ``atomic(savepoint=False)`` around its own multi-statement writes does.
    Without it, inside a ``transaction()`` block or Django's ``atomic()`` (which vinyl_sync
    joins) an error of a write step marks that block for rollback, as Django's
    ``mark_for_rollback_on_error()`` around its own writes of one statement does. Reads are
    performed by *queryset_class*, the flavor's queryset.
    """
    backend = get_backend(alias)
    # The plan needs the server's capabilities (RETURNING on MariaDB): a pool learns them
    # when it starts; inside Django's transaction, which vinyl_sync joins (vinyl_async
    # refuses) and where no pool opens, Django's connection tells them. A vinyl block comes
    # first, as for every statement (ConnectionScope): Django's block opened inside one is
    # not joined.
    in_block = current_scope(alias) is not None
    joined = not in_block and django_transaction(alias) is not None
    if joined:
        aprepare_django_join(alias)
    elif started_pool(backend) is None:
        await get_pool(backend)
    if not atomic:
        return await _perform_all(alias, plan, queryset_class, mark=in_block or joined)
    async with transaction(using=alias, savepoint=False):
        return await _perform_all(alias, plan, queryset_class, mark=False)


async def _perform_all[T](alias: str, plan: Plan[T], queryset_class: type[Any], *, mark: bool) -> T:
    result: Any = None
    try:
        while True:
            step = plan.send(result)
            if mark and not isinstance(step, Read):
                # Only a write step, as Django marks only its write: an error of a read or
                # of the plan itself (a delete's collection raising ProtectedError) leaves
                # the block usable.
                with mark_for_rollback_on_error(alias):
                    result = await _perform(alias, step, queryset_class)
            else:
                result = await _perform(alias, step, queryset_class)
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        plan.close()


def _perform(alias: str, step: Step, queryset_class: type[Any]) -> Any:
    """Perform *step* on *alias*: return what the call that performs it returns.

    A plain function: the caller waits on the statement's (or the read's) own call, with
    no level of this function's between every write and its driver.
    """
    if isinstance(step, Read):
        queryset = queryset_class.from_django(step.queryset, alias)
        if not step.terminal:
            return queryset._evaluate()
        return getattr(queryset, step.terminal)(*step.args, **step.kwargs)
    if isinstance(step, Insert):
        return execute_insert_sql(alias, step.sql, step.params)
    # A compiler's own statement (_replay.Statement: the rows it reads first) returns rows.
    if isinstance(step, _replay.Statement) or step.returning:
        return fetch_sql(alias, step.sql, step.params)
    return execute_sql(alias, step.sql, step.params)
