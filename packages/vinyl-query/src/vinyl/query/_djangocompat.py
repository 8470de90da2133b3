"""The differences between Django 5.2 and 6.1 that decoding meets, in one place.

Django 6.1 added fetch modes (``QuerySet.fetch_mode()``): model instances record the mode
of the queryset that loaded them, and ``from_db()`` / ``RelatedPopulator`` take it as an
argument. Django 5.2 has neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Model, QuerySet, query

# Typed loosely on purpose: the stubs of each Django version describe only that version.
django_query: Any = query

__all__ = ["HAS_FETCH_MODES", "Loader", "fetch_mode", "model_loader", "related_populators"]

#: The loader ``ModelIterable`` uses: ``(db, field names, values) -> instance``.
Loader = Callable[[str, Sequence[str], Sequence[Any]], Model]

HAS_FETCH_MODES = hasattr(QuerySet, "fetch_mode")


def model_loader(model: type[Model], queryset: QuerySet[Any]) -> Loader:
    """Return ``model.from_db`` bound to *queryset*'s fetch mode where Django has one."""
    if HAS_FETCH_MODES:
        loader: Loader = django_query._get_from_db(model, fetch_mode(queryset))
        return loader
    return model.from_db


def related_populators(
    klass_info: dict[str, Any], select: Sequence[Any], queryset: QuerySet[Any]
) -> list[Any]:
    """Return Django's ``select_related()`` populators for *klass_info*."""
    if HAS_FETCH_MODES:
        populators: list[Any] = django_query.get_related_populators(
            klass_info, select, queryset.db, fetch_mode(queryset)
        )
    else:
        populators = django_query.get_related_populators(klass_info, select, queryset.db)
    return populators


def fetch_mode(queryset: QuerySet[Any]) -> object:
    """Return *queryset*'s fetch mode (Django 6.1 and later)."""
    private: Any = queryset
    return private._fetch_mode
