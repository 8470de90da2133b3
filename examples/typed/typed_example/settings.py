"""Django settings for type checking: django-stubs' mypy plugin loads them, nothing runs them.

The root pyproject.toml names this module in ``[tool.django-stubs]``; mypy checks the
packages' sources and this example with it. No database is opened while type checking.
"""

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "typed_example",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "typed_example"},
    "vinyl": {"ENGINE": "vinyl.postgresql_backend", "NAME": "typed_example"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SECRET_KEY = "typing-only"
USE_TZ = True
