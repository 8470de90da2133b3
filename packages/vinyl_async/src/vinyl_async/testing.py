"""Django's ``TestCase`` for code that runs through vinyl, as ``<flavor>.testing.TestCase``.

Each test's writes commit (vinyl's connections see them) and are emptied after it; the
README's "Testing" section says what differs from Django's ``TestCase`` and why.
"""

from vinyl.query.testing import TestCase

__all__ = ["TestCase"]
