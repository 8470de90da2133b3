"""vinyl's mypy plugin: a vinyl instance is typed as the subclass of its model it is.

Enable it after django-stubs' (``plugins = ["mypy_django_plugin.main",
"vinyl.model.mypy_plugin"]``). At run time a vinyl instance is an instance of a subclass of
the user's model and of the flavor's ``VinylInstance`` (``vinyl.model._instances``); for
mypy the plugin gives each model two such classes, ``Author@vinyl_async`` and
``Author@vinyl_sync``, which annotations name as ``vinyl_async.Instance[Author]``, and
mypy's messages as ``Instance[Author]`` (the full names where both flavors meet):

- each model class gets them while mypy analyses it, in its own module, so that they are
  cached with it (only when that module's analysis sees the flavor, as a module that
  declares a ``VinylManager`` of it does);
- ``M.vinyl`` is typed as the manager of ``Instance[M]``, so every method that returns
  instances (``get()``, ``create()``, ``new()``, ``await qs``...) returns vinyl's;
  ``bulk_create()``/``bulk_update()`` take (and return) Django's instances too;
- on a vinyl instance, the flavor's ``save()``, ``delete()``, ``refresh_from_db()``; a
  forward foreign key or one-to-one and a reverse one-to-one (``book.author``) is an
  awaitable of the related vinyl instance (async) or that instance (sync), a many-valued
  relation (``author.books``) the flavor's related manager, and ``obj["author"]`` with a
  literal name what ``select_related()``/``prefetch_related()`` loaded.

The plugin imports nothing from vinyl: mypy loads it alone, by module name or by path.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.maptype import map_instance_to_supertype
from mypy.mro import calculate_mro
from mypy.nodes import (
    GDEF,
    AssignmentStmt,
    Block,
    CallExpr,
    ClassDef,
    Expression,
    JsonDict,
    MemberExpr,
    MypyFile,
    NameExpr,
    StrExpr,
    SymbolNode,
    SymbolTable,
    SymbolTableNode,
    TypeInfo,
)
from mypy.plugin import (
    AnalyzeTypeContext,
    AttributeContext,
    ClassDefContext,
    MethodContext,
    MethodSigContext,
    Plugin,
)
from mypy.type_visitor import TypeTranslator
from mypy.types import (
    AnyType,
    FunctionLike,
    Instance,
    NoneType,
    Type,
    TypeAliasType,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

__all__ = ["VinylPlugin", "plugin"]

#: Each flavor's package, and the suffix of its instance classes' names.
FLAVORS = {"vinyl.model._async": "vinyl_async", "vinyl.model._sync": "vinyl_sync"}
MODEL = "django.db.models.base.Model"
# Django's relation fields and descriptors, as django-stubs types them on a model.
FOREIGN_OBJECT = "django.db.models.fields.related.ForeignObject"
MANY_TO_MANY_FIELD = "django.db.models.fields.related.ManyToManyField"
REVERSE_ONE = "django.db.models.fields.related_descriptors.ReverseOneToOneDescriptor"
REVERSE_MANY = "django.db.models.fields.related_descriptors.ReverseManyToOneDescriptor"
MANY_TO_MANY = "django.db.models.fields.related_descriptors.ManyToManyDescriptor"
GENERIC_RELATION = "django.contrib.contenttypes.fields.GenericRelation"
GENERIC_FOREIGN_KEY = "django.contrib.contenttypes.fields.GenericForeignKey"
#: The key of the plugin's metadata in a ``TypeInfo``: a model's fields' ``related_name``;
#: the model and flavor an instance class stands for.
METADATA = "vinyl"


class VinylPlugin(Plugin):
    """The hooks; each one does nothing for a type that is not vinyl's."""

    def get_customize_class_mro_hook(
        self, fullname: str
    ) -> Callable[[ClassDefContext], None] | None:
        info = self._info(fullname)
        if info is not None and info.has_base(MODEL):
            return _add_instance_classes
        return None

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        package, _, name = fullname.rpartition(".instance.")
        if name == "Instance" and package in FLAVORS:
            return lambda ctx: self._instance_type(ctx, package)
        return None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        # mypy names a method by the class of the object it is called on.
        owner, _, method = fullname.rpartition(".")
        if method == "__get__" and self._subclass(owner, "manager.VinylManager"):
            return self._bound_manager
        if method == "__getitem__":
            info = self._info(owner)
            if info is not None and _instance_class(info) is not None:
                return self._loaded
        return None

    def get_method_signature_hook(
        self, fullname: str
    ) -> Callable[[MethodSigContext], FunctionLike] | None:
        owner, _, method = fullname.rpartition(".")
        if method in {"bulk_create", "bulk_update"} and (
            self._subclass(owner, "manager_methods.ManagerMethods")
            or self._subclass(owner, "queryset.VinylQuerySet")
        ):
            return _django_instances_too
        return None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner, _, name = fullname.rpartition(".")
        if name == "model" and owner in {
            f"{flavor}.manager_methods.ManagerMethods" for flavor in FLAVORS
        }:
            return _plain_model_class
        info = self._info(owner)
        if info is not None and info.has_base(MODEL) and _relation(info, name) is not None:
            return lambda ctx: self._relation_attribute(ctx, info, name)
        return None

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner, _, name = fullname.rpartition(".")
        info = self._info(owner) if name == "objects" else None
        if info is not None and info.has_base(MODEL):
            return lambda ctx: self._objects(ctx, info)
        return None

    def _objects(self, ctx: AttributeContext, model: TypeInfo) -> Type:
        """``M.objects`` declared as ``objects = VinylManager()``: vinyl's manager of M."""
        written = model.metadata.get(METADATA, {}).get("objects")
        manager = self._written(model.module_name, written) if written else None
        package = None if manager is None else _flavor_of(manager, "manager.VinylManager")
        methods = (
            None if package is None else self._info(f"{package}.manager_methods.ManagerMethods")
        )
        if package is None or methods is None:
            return ctx.default_attr_type
        return Instance(methods, [self._vinyl(Instance(model, []), package)])

    def _written(self, module: str, dotted: str) -> TypeInfo | None:
        """Return the class the name *dotted* refers to in *module*, or ``None``."""
        node: SymbolNode | None = (self._modules or {}).get(module)
        for part in dotted.split("."):
            symbol = node.names.get(part) if isinstance(node, (MypyFile, TypeInfo)) else None
            node = None if symbol is None else symbol.node
        return node if isinstance(node, TypeInfo) else None

    def _instance_type(self, ctx: AnalyzeTypeContext, package: str) -> Type:
        """``Instance[M]``: M's vinyl instance class of the flavor; M itself without one."""
        if len(ctx.type.args) != 1:
            ctx.api.fail("Instance[...] takes one model class", ctx.context)
            return AnyType(TypeOfAny.from_error)
        return self._vinyl(ctx.api.analyze_type(ctx.type.args[0]), package)

    def _subclass(self, fullname: str, name: str) -> bool:
        """Return whether the class *fullname* subclasses a flavor's class *name*."""
        info = self._info(fullname)
        return info is not None and _flavor_of(info, name) is not None

    def _info(self, fullname: str) -> TypeInfo | None:
        symbol = self.lookup_fully_qualified(fullname)
        return symbol.node if symbol is not None and isinstance(symbol.node, TypeInfo) else None

    def _vinyl(self, model: Type, package: str) -> Type:
        """Return *model*'s vinyl instance type of the flavor *package*, or *model* unchanged."""
        proper = get_proper_type(model)
        if isinstance(proper, UnionType):
            return UnionType([self._vinyl(each, package) for each in proper.items], proper.line)
        if not isinstance(proper, Instance) or _instance_class(proper.type) is not None:
            return model
        found = self._info(_instance_class_name(proper.type, package))
        return model if found is None else Instance(found, [])

    def _bound_manager(self, ctx: MethodContext) -> Type:
        """``M.vinyl``: the manager of ``Instance[M]``, M's vinyl instances of its flavor."""
        manager = get_proper_type(ctx.default_return_type)
        if not isinstance(manager, Instance) or len(manager.args) != 1:
            return ctx.default_return_type
        package = _flavor(manager.type)
        if package is None:
            return ctx.default_return_type
        return manager.copy_modified(args=[self._vinyl(manager.args[0], package)])

    def _relation_attribute(self, ctx: AttributeContext, model: TypeInfo, name: str) -> Type:
        """``obj.<relation>`` on a vinyl instance: what the flavor's descriptor returns."""
        owner = get_proper_type(ctx.type)
        vinyl = _instance_class(owner.type) if isinstance(owner, Instance) else None
        relation = _relation(model, name)
        if ctx.is_lvalue or vinyl is None or relation is None:
            return ctx.default_attr_type
        package: str = vinyl["flavor"]
        kind, target = relation
        related = self._vinyl(target, package)
        if kind not in {"one", "reverse one"}:
            manager = self._info(f"{package}.related_managers.{kind}")
            return ctx.default_attr_type if manager is None else Instance(manager, [related])
        if package.endswith("_async"):
            return ctx.api.named_generic_type(
                "typing.Coroutine", [AnyType(TypeOfAny.special_form)] * 2 + [related]
            )
        return related

    def _loaded(self, ctx: MethodContext) -> Type:
        """``obj["name"]``: what select_related()/prefetch_related() loaded as *name*.

        A forward relation loaded what its attribute is in Django (``None`` for a null key),
        a reverse one-to-one the object or ``None``, a many-valued one a list. Anything else (a
        ``to_attr`` list, a name given by a variable) stays ``Any``.
        """
        owner = get_proper_type(ctx.type)
        vinyl = _instance_class(owner.type) if isinstance(owner, Instance) else None
        if vinyl is None or not ctx.args or len(ctx.args[0]) != 1:
            return ctx.default_return_type
        name = ctx.args[0][0]
        model = self._info(vinyl["model"])
        relation = (
            None if model is None or not isinstance(name, StrExpr) else _relation(model, name.value)
        )
        if relation is None:
            return ctx.default_return_type
        kind, target = relation
        related = self._vinyl(target, vinyl["flavor"])
        if kind == "one":
            return related
        if kind == "reverse one":
            return UnionType.make_union([related, NoneType()])
        return ctx.api.named_generic_type("builtins.list", [related])


def _instance_class(info: TypeInfo) -> JsonDict | None:
    """Return what *info* stands for when it is a vinyl instance class: its model and flavor."""
    vinyl = info.metadata.get(METADATA)
    return vinyl if vinyl is not None and "flavor" in vinyl else None


def _flavor_of(info: TypeInfo, name: str) -> str | None:
    """Return the flavor package whose class *name* (``manager.VinylManager``...) *info*
    is or subclasses, or ``None``."""
    for package in FLAVORS:
        if info.has_base(f"{package}.{name}"):
            return package
    return None


def _flavor(info: TypeInfo) -> str | None:
    """Return the flavor package whose class *info* is, or ``None``."""
    for package in FLAVORS:
        if info.module_name.startswith(package + "."):
            return package
    return None


def _related_names(cls: ClassDef) -> dict[str, str]:
    """Return the ``related_name`` of each field *cls* declares with one, by field name.

    Read from the class body as written: the types do not say which foreign key a reverse
    relation is, and the model's class is cached without its body.
    """
    names = {}
    for statement in cls.defs.body:
        if (
            isinstance(statement, AssignmentStmt)
            and isinstance(statement.rvalue, CallExpr)
            and len(statement.lvalues) == 1
            and isinstance(statement.lvalues[0], NameExpr)
        ):
            call = statement.rvalue
            for keyword, value in zip(call.arg_names, call.args, strict=True):
                if keyword == "related_name" and isinstance(value, StrExpr):
                    names[statement.lvalues[0].name] = value.value
    return names


def _objects_manager(cls: ClassDef) -> str | None:
    """Return the name of the class called to make ``objects`` in *cls*'s body, as written.

    ``objects = VinylManager()`` registers a plain Django manager as ``objects`` in ``_meta``,
    which django-stubs' plugin reads: it types ``M.objects`` as that manager.
    """
    for statement in cls.defs.body:
        if (
            isinstance(statement, AssignmentStmt)
            and isinstance(statement.rvalue, CallExpr)
            and [_dotted(each) for each in statement.lvalues] == ["objects"]
        ):
            return _dotted(statement.rvalue.callee)
    return None


def _dotted(expression: Expression) -> str | None:
    """Return ``a.b.c`` for a name or a chain of attributes, else ``None``."""
    if isinstance(expression, NameExpr):
        return expression.name
    if isinstance(expression, MemberExpr):
        owner = _dotted(expression.expr)
        return None if owner is None else f"{owner}.{expression.name}"
    return None


def _instance_class_name(model: TypeInfo, package: str) -> str:
    return f"{model.module_name}.{model.name}@{FLAVORS[package]}"


def _add_instance_classes(ctx: ClassDefContext) -> None:
    """Add the model's vinyl instance classes, one per flavor the analysis sees, to its module.

    Each subclasses the flavor's ``VinylInstance`` first, then the model, as at run time.
    """
    model = ctx.cls.info
    model.metadata[METADATA] = {
        "related_names": _related_names(ctx.cls),
        "objects": _objects_manager(ctx.cls),
    }
    module = ctx.api.modules[model.module_name]
    for package in FLAVORS:
        mixin = ctx.api.lookup_fully_qualified_or_none(f"{package}.instance.VinylInstance")
        fullname = _instance_class_name(model, package)
        name = fullname.rpartition(".")[2]
        if mixin is None or not isinstance(mixin.node, TypeInfo) or name in module.names:
            continue
        # Its name is what mypy's messages show: the annotation the user writes, not the
        # internal name under which the module holds it.
        defn = ClassDef(f"Instance[{model.name}]", Block([]))
        defn.fullname = fullname
        info = TypeInfo(SymbolTable(), defn, model.module_name)
        defn.info = info
        info.bases = [Instance(mixin.node, []), Instance(model, [])]
        calculate_mro(info)
        info.metadata[METADATA] = {"model": model.fullname, "flavor": package}
        module.names[name] = SymbolTableNode(GDEF, info, plugin_generated=True, module_public=False)


def _relation(model: TypeInfo, name: str) -> tuple[str, Type] | None:
    """Return ``(kind, target)`` when *name* is a relation of *model*, else ``None``.

    *kind* is ``"one"`` for a forward relation to one object (a foreign key, one-to-one or
    generic foreign key), ``"reverse one"`` for a reverse one-to-one, else the name of the
    flavor's related manager class; *target* the related model's type as Django's attribute
    returns it (with ``None`` for a nullable key; ``Any`` for a generic relation).
    """
    symbol = model.get(name)
    declared = get_proper_type(symbol.type) if symbol is not None else None
    if not isinstance(declared, Instance):
        return None
    info = declared.type
    if info.has_base(GENERIC_RELATION):
        return "GenericRelatedManager", AnyType(TypeOfAny.special_form)
    if info.has_base(GENERIC_FOREIGN_KEY):
        return "one", AnyType(TypeOfAny.special_form)
    if info.has_base(MANY_TO_MANY) or info.has_base(MANY_TO_MANY_FIELD):
        return "ManyToManyManager", _argument(declared, MANY_TO_MANY, MANY_TO_MANY_FIELD, index=0)
    if info.has_base(REVERSE_MANY):
        target = _argument(declared, REVERSE_MANY, index=0)
        return _reverse_foreign_key_manager(model, name, target), target
    if info.has_base(REVERSE_ONE):
        return "reverse one", _argument(declared, REVERSE_ONE, index=1)
    if info.has_base(FOREIGN_OBJECT):
        return "one", _argument(declared, FOREIGN_OBJECT, index=1)
    return None


def _argument(declared: Instance, *bases: str, index: int) -> Type:
    """Return the type argument *index* of *declared* as an instance of the first of *bases*."""
    for base in declared.type.mro:
        if base.fullname in bases:
            return map_instance_to_supertype(declared, base).args[index]
    return AnyType(TypeOfAny.special_form)


def _reverse_foreign_key_manager(model: TypeInfo, name: str, target: Type) -> str:
    """Return the related manager class of the reverse foreign key *name* of *model*.

    ``remove()`` and ``clear()`` exist for a nullable key only: the nullable class when the
    foreign key of *target* whose accessor is *name* is nullable.
    """
    related = get_proper_type(target)
    if not isinstance(related, Instance):
        return "ReverseForeignKeyManager"
    for base in related.type.mro:
        related_names = base.metadata.get(METADATA, {}).get("related_names", {})
        for field, symbol in base.names.items():
            declared = get_proper_type(symbol.type)
            if not isinstance(declared, Instance) or not declared.type.has_base(FOREIGN_OBJECT):
                continue
            accessor = related_names.get(field, f"{related.type.name.lower()}_set")
            value = get_proper_type(_argument(declared, FOREIGN_OBJECT, index=1))
            items = value.items if isinstance(value, UnionType) else [value]
            if accessor == name and any(
                isinstance(each, Instance) and model.has_base(each.type.fullname) for each in items
            ):
                if any(isinstance(get_proper_type(each), NoneType) for each in items):
                    return "NullableReverseForeignKeyManager"
                return "ReverseForeignKeyManager"
    return "ReverseForeignKeyManager"


class _Plain(TypeTranslator):
    """Turn each vinyl instance type into its model's."""

    def visit_instance(self, t: Instance) -> Type:
        if _instance_class(t.type) is not None:
            return t.type.bases[1]
        return super().visit_instance(t)

    def visit_type_alias_type(self, t: TypeAliasType) -> Type:
        return t.copy_modified(args=[each.accept(self) for each in t.args])


def _django_instances_too(ctx: MethodSigContext) -> FunctionLike:
    """``bulk_create()``/``bulk_update()`` take Django's instances too (and return them)."""
    signature = ctx.default_signature
    plain = _Plain()
    return signature.copy_modified(
        arg_types=[each.accept(plain) for each in signature.arg_types],
        ret_type=signature.ret_type.accept(plain),
    )


def _plain_model_class(ctx: AttributeContext) -> Type:
    """``M.vinyl.model`` is the model class itself, not a vinyl class."""
    return ctx.default_attr_type.accept(_Plain())


def plugin(version: str) -> type[VinylPlugin]:
    """Return the plugin class (mypy's entry point)."""
    return VinylPlugin
