"""Where Django 5.2 and 6.1 keep the generic foreign key descriptor.

Django 6.1 moved the descriptor behaviour of ``GenericForeignKey`` (``__get__``,
``__set__``, ``get_prefetch_querysets``) to a separate ``GenericForeignKeyDescriptor``
stored on the model class; in Django 5.2 the ``GenericForeignKey`` field is itself the
class attribute.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey

__all__ = ["generic_foreign_key"]

try:
    from django.contrib.contenttypes.fields import GenericForeignKeyDescriptor
except ImportError:  # Django 5.2
    GenericForeignKeyDescriptor = None


def generic_foreign_key(attribute: Any) -> GenericForeignKey | None:
    """Return the ``GenericForeignKey`` a model class attribute stands for, if it is one."""
    if isinstance(attribute, GenericForeignKey):
        return attribute
    if GenericForeignKeyDescriptor is not None and isinstance(
        attribute, GenericForeignKeyDescriptor
    ):
        field: GenericForeignKey = attribute.field
        return field
    return None
