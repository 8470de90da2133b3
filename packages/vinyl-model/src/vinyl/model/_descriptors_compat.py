"""Where Django 5.2 and 6.1 keep the generic foreign key descriptor.

Django 6.1 moved the descriptor behaviour of ``GenericForeignKey`` (``__get__``,
``__set__``, ``get_prefetch_querysets``) to a separate ``GenericForeignKeyDescriptor``
stored on the model class; in Django 5.2 the ``GenericForeignKey`` field is itself the
class attribute.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

__all__ = ["generic_foreign_key"]


def generic_foreign_key(attribute: Any) -> Any:
    """Return the ``GenericForeignKey`` a model class attribute stands for, or ``None``."""
    # Without contenttypes installed no model can have a generic foreign key, and importing
    # its fields module would fail (its ContentType model belongs to no installed app).
    if not apps.is_installed("django.contrib.contenttypes"):
        return None
    # Imported here: contenttypes' fields module needs Django's app registry ready, and
    # vinyl_async is importable before it is.
    from django.contrib.contenttypes import fields

    if isinstance(attribute, fields.GenericForeignKey):
        return attribute
    descriptor_class = getattr(fields, "GenericForeignKeyDescriptor", None)  # Django 6.1
    if descriptor_class is not None and isinstance(attribute, descriptor_class):
        return attribute.field
    return None
