"""Where Django 5.2 and 6.1 keep the generic foreign key descriptor.

Django 6.1 moved the descriptor behaviour of ``GenericForeignKey`` (``__get__``,
``__set__``, ``get_prefetch_querysets``) to a separate ``GenericForeignKeyDescriptor``
stored on the model class; in Django 5.2 the ``GenericForeignKey`` field is itself the
class attribute.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["generic_foreign_key"]


def generic_foreign_key(attribute: Any) -> Any:
    """Return the ``GenericForeignKey`` a model class attribute stands for, or ``None``."""
    # A model with a generic foreign key has imported contenttypes' fields module: until
    # one has, no attribute is one, and the module is not imported here (it costs memory
    # in every process, 0.1 MiB). It never is without contenttypes installed: it imports
    # the ContentType model, which belongs to no installed app then.
    fields = sys.modules.get("django.contrib.contenttypes.fields")
    if fields is None:
        return None
    if isinstance(attribute, fields.GenericForeignKey):
        return attribute
    descriptor_class = getattr(fields, "GenericForeignKeyDescriptor", None)  # Django 6.1
    if descriptor_class is not None and isinstance(attribute, descriptor_class):
        return attribute.field
    return None
