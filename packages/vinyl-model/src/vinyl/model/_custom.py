"""Which methods of a custom queryset class a vinyl manager offers, without I/O."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.db.models import QuerySet

__all__ = ["queryset_methods"]


@functools.cache
def queryset_methods(queryset_class: type[Any], flavor: type[Any]) -> Mapping[str, Any]:
    """Return the methods of *queryset_class* a manager copies, by name, as Django picks them.

    As Django's ``Manager.from_queryset()``: the functions the classes of *queryset_class*
    define below *flavor* (the flavor's ``VinylQuerySet``) and Django's ``QuerySet``, public
    ones unless marked ``queryset_only = True``, private ones only when marked
    ``queryset_only = False``. ``VinylManager.from_queryset()`` copies them onto the manager
    class; the related managers offer the same names.
    """
    skipped = {*flavor.__mro__, *QuerySet.__mro__}
    methods: dict[str, Any] = {}
    for klass in reversed(queryset_class.__mro__):
        if klass in skipped:
            continue
        for name, method in vars(klass).items():
            if not inspect.isfunction(method):
                continue
            queryset_only = getattr(method, "queryset_only", None)
            if queryset_only or (queryset_only is None and name.startswith("_")):
                continue
            methods[name] = method
    return MappingProxyType(methods)
