"""The test app's models, one module per area (each helper adds its own module here)."""

from vinyl_testapp.models.smoke import Note

__all__ = ["Note"]
