"""``delete()`` of instances and querysets: collect what the delete reaches, then delete it.

The plans are ``vinyl.model._deletion``'s (Django's ``Collector``); this module runs them
in Django's order. The collection only reads, outside the deleting transaction as in
Django, so a ``ProtectedError``/``RestrictedError`` leaves the caller's ``transaction()``
block usable; the delete itself is all-or-nothing (ARCHITECTURE §3.4).
"""

from __future__ import annotations

from typing import Any

from vinyl.model._async import write
from vinyl.model._deletion import Deleted, Deletion

__all__ = ["delete"]


async def delete(deletion: Deletion, queryset_class: type[Any]) -> Deleted:
    """Collect and delete; return Django's ``(count, {label: count})``.

    The reads run through *queryset_class*, the flavor's queryset.
    """
    collector = deletion.collector
    await write.run(collector.using, deletion.collect(), queryset_class, atomic=False)
    plan = collector.delete_plan()
    deleted = await write.run(collector.using, plan, queryset_class, atomic=collector.atomic)
    collector.forget_primary_keys()
    return deleted
