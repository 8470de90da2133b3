"""vinyl's async model layer (``vinyl.model._sync`` is the generated sync twin)."""

from vinyl.model._async.instance import Instance
from vinyl.model._async.manager import VinylManager
from vinyl.model._async.queryset import VinylQuerySet, prefetch_related_objects
from vinyl.model._async.related_managers import RelatedManager
from vinyl.model._overrides import OverriddenMethodWarning

__all__ = [
    "Instance",
    "OverriddenMethodWarning",
    "RelatedManager",
    "VinylManager",
    "VinylQuerySet",
    "prefetch_related_objects",
]
