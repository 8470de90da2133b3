"""A model's own ``save()``/``delete()``: vinyl does not run it, and says so once per model.

Django calls a model's ``save()`` override, which usually does some work and then calls
``super().save()``. vinyl cannot do the same: the override is sync code whose
``super().save()`` is Django's, which writes on Django's own connection and sends signals
(ARCHITECTURE §3.2), and from async code it would block the event loop. So vinyl's
``save()``/``delete()`` write natively and skip the override — and, rather than skip it
silently, warn the first time it happens for each model and method.
"""

from __future__ import annotations

import warnings

from django.db.models import Model

__all__ = ["OverriddenMethodWarning", "warn_if_overridden"]


class OverriddenMethodWarning(RuntimeWarning):
    """A model overrides ``save()`` or ``delete()``, which vinyl's write does not run.

    The same class in both flavors, exported by ``vinyl_async`` and ``vinyl_sync``.
    """


_warned: set[tuple[type[Model], str]] = set()


def warn_if_overridden(model: type[Model], method: str) -> None:
    """Warn, once per model and method, when *model* (or a base) overrides *method*."""
    key = (model, method)
    if key in _warned:
        return
    _warned.add(key)
    owner = next(klass for klass in model.__mro__ if method in vars(klass))
    if owner is Model:
        return
    warnings.warn(
        f"{model.__qualname__} overrides {method}() (in {owner.__module__}."
        f"{owner.__qualname__}), and vinyl's {method}() does not run it: the override's "
        f"super().{method}() is Django's, which writes on Django's connection and sends "
        f"signals. Do that work where you call {method}(), or call Django's own "
        f"({model.__qualname__}._default_manager) where it must run.",
        OverriddenMethodWarning,
        stacklevel=3,
    )
