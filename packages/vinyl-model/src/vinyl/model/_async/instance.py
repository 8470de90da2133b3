"""vinyl instances: the user's model class, plus ``obj[name]``, eager relations and refresh.

``instance_class(M, queryset_class)`` is a cached subclass of ``M`` (see
``vinyl.model._instances``), so ``isinstance(obj, M)`` holds and ``==``, ``hash``, ``repr``
and ``str`` are ``M``'s. The class carries the flavor's queryset class: its relations and
``refresh_from_db()`` read through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from django.apps import apps
from django.db.models import Model, QuerySet
from vinyl.model import _deletion, _saving
from vinyl.model._async import write
from vinyl.model._async.deletion import delete
from vinyl.model._async.related import relation_descriptor
from vinyl.model._instances import build_instance_class, loaded, read_alias, swap_classes
from vinyl.model._overrides import warn_if_overridden
from vinyl.model._writes import write_alias

__all__ = ["Instance", "VinylInstance", "instance_class", "to_vinyl", "unpickle"]

#: ``Instance[M]``, for annotations: a vinyl instance of the model ``M`` in this flavor. For
#: mypy with vinyl's plugin (``vinyl.model.mypy_plugin``), the subclass of ``M`` that it is
#: at run time (this flavor's ``save()``, relations, ``obj[name]``); else ``M`` itself.
type Instance[M: Model] = M


class VinylInstance:
    """What a vinyl instance adds to the user's model."""

    #: The flavor's queryset class, which the instance's reads go through.
    _vinyl_queryset: ClassVar[type[Any]]

    def __getitem__(self, name: str) -> Any:
        """Return what select_related()/prefetch_related() loaded as *name*; never query."""
        return loaded(self, name)  # type: ignore[arg-type]

    async def refresh_from_db(
        self,
        using: str | None = None,
        fields: Sequence[str] | None = None,
        from_queryset: QuerySet[Any] | None = None,
    ) -> None:
        """Reload the fields from the database, as Django's ``refresh_from_db()``.

        This is how a field that ``only()``/``defer()`` left out is loaded.
        """
        instance: Model = self  # type: ignore[assignment]
        queryset_class = self._vinyl_queryset
        if from_queryset is None:
            # Where Django's router sends the read, the instance as hint (as Django's).
            model = instance._meta.model
            base = queryset_class(model, using=using or read_alias(model, instance))
        else:
            base = queryset_class.from_django(from_queryset, using)
        field_list = None if fields is None else list(fields)
        await base.run_django(
            lambda twin: Model.refresh_from_db(instance, fields=field_list, from_queryset=twin)
        )

    async def save(
        self,
        *,
        force_insert: bool | tuple[type[Model], ...] = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
    ) -> None:
        """Save the instance: Django's ``save()``, its decisions and errors, without signals.

        The instance is saved on *using*, else where Django's router sends the model's
        writes (without a router of yours: the alias it was read from, or made for by
        ``M.vinyl.new()``). A multi-table child's rows are saved in one transaction.
        A ``save()`` the model overrides is not run (``vinyl.model._overrides``).
        """
        instance: Model = self  # type: ignore[assignment]
        warn_if_overridden(instance._meta.model, "save")
        alias = write_alias(instance, using, "save")
        save = _saving.prepare_save(
            instance,
            alias,
            force_insert=force_insert,
            force_update=force_update,
            update_fields=update_fields,
        )
        if save is not None:
            plan = _saving.save_plan(save)
            await write.run(alias, plan, self._vinyl_queryset, atomic=save.atomic)

    async def delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        """Delete the instance and what cascades from it; return ``(count, {label: count})``.

        Django's ``delete()`` (its ``Collector``: ``on_delete``, parents, generic relations,
        its errors), without signals. The instance is deleted on *using*, else where
        Django's router sends the model's writes (without a router of yours: the alias it
        was read from). A ``delete()`` the model overrides is not run
        (``vinyl.model._overrides``).
        """
        instance: Model = self  # type: ignore[assignment]
        warn_if_overridden(instance._meta.model, "delete")
        deletion = _deletion.instance_deletion(instance, using, keep_parents)
        return await delete(deletion, self._vinyl_queryset)

    def __reduce__(self) -> tuple[Any, ...]:
        # Django's reduce names the model; unpickling must give a vinyl instance back.
        reduced: Any = Model.__reduce__(self)  # type: ignore[arg-type,unused-ignore]
        return (unpickle, (*reduced[1], self._vinyl_queryset), reduced[2])


def unpickle(class_id: tuple[str, str], queryset_class: type[Any]) -> Model:
    """Return an empty vinyl instance of the model named by *class_id* (for pickle)."""
    cls = instance_class(apps.get_model(*class_id), queryset_class)
    return cls.__new__(cls)


_classes: dict[tuple[type[Model], type[Any]], type[Model]] = {}


def instance_class(model: type[Model], queryset_class: type[Any]) -> type[Model]:
    """Return the vinyl class of *model* (a model, a proxy, or a vinyl class already)."""
    key = (model._meta.model, queryset_class)
    try:
        return _classes[key]
    except KeyError:
        pass
    _classes[key] = build_instance_class(
        key[0], VinylInstance, relation_descriptor, {"_vinyl_queryset": queryset_class}
    )
    return _classes[key]


def to_vinyl(objs: Iterable[Any], queryset_class: type[Any]) -> None:
    """Turn the model instances of a decoded result into vinyl instances, in place."""
    swap_classes(objs, lambda model: instance_class(model, queryset_class))
