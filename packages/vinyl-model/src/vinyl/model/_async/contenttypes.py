"""The content types of a vinyl alias, read through vinyl once and kept in Django's cache.

Generic relations need the content types: Django reads them through
``ContentType.objects``, whose cache fills itself with sync queries on Django's own
connection. vinyl reads them through its own queryset class (*queryset_class*, the
flavor's) and puts them in that cache, so Django's code finds them there.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

__all__ = ["content_type", "content_type_for_model", "content_types"]


async def content_types(
    queryset_class: type[Any], alias: str, *, reload: bool = False
) -> dict[int, Model]:
    """Return the content types of *alias* by id, read through vinyl once per alias.

    *reload* reads them again (a content type created since the first read).
    """
    # Imported here: vinyl_async must import before Django's app registry is ready.
    from django.contrib.contenttypes.models import ContentType

    # _cache and _add_to_cache are private: Django's stubs leave them out.
    manager: Any = ContentType.objects.db_manager(alias)
    if reload or alias not in manager._cache:
        manager._cache.pop(alias, None)
        for found in await queryset_class(ContentType, using=alias):
            manager._add_to_cache(alias, found)
    by_id: dict[int, Model] = {
        key: value for key, value in manager._cache.get(alias, {}).items() if isinstance(key, int)
    }
    return by_id


async def content_type(queryset_class: type[Any], alias: str, ct_id: int) -> Any:
    """Return the content type *ct_id* of *alias*; raise ``ContentType.DoesNotExist``."""
    found = await content_types(queryset_class, alias)
    if ct_id not in found:
        found = await content_types(queryset_class, alias, reload=True)
    try:
        return found[ct_id]
    except KeyError:
        from django.contrib.contenttypes.models import ContentType

        raise ContentType.DoesNotExist(
            f"ContentType matching query does not exist (id={ct_id!r} on {alias!r})."
        ) from None


async def content_type_for_model(queryset_class: type[Any], alias: str, model: type[Model]) -> Any:
    """Return the content type of *model* on *alias*, created if missing.

    As Django's ``ContentType.objects.get_for_model()``, for the model given: the caller
    passes the concrete model where Django would.
    """
    from django.contrib.contenttypes.models import ContentType

    opts = model._meta
    key = (opts.app_label, opts.model_name)
    manager: Any = ContentType.objects.db_manager(alias)
    await content_types(queryset_class, alias)
    found = manager._cache[alias].get(key)
    if found is None:
        found, _created = await queryset_class(ContentType, using=alias).get_or_create(
            app_label=opts.app_label, model=opts.model_name
        )
        manager._add_to_cache(alias, found)
    return found
