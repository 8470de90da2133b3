"""The test app's models, one module per area (each helper adds its own module here)."""

from vinyl_testapp.models import (  # noqa: F401 - the model layer's models
    bulk,
    custom,
    library,
    overrides,
    related_writes,
    seed,
    writes,
)
from vinyl_testapp.models.pg_types import PgTypes
from vinyl_testapp.models.query import QAuthor, QBook, QShelf
from vinyl_testapp.models.smoke import Note
from vinyl_testapp.models.types import AllTypes, TypesOwner

__all__ = ["AllTypes", "Note", "QAuthor", "QBook", "QShelf", "PgTypes", "TypesOwner"]
