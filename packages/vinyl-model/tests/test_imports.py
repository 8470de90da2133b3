"""What a process imports: only what the code it runs needs."""

from __future__ import annotations

import subprocess
import sys


def test_models_without_a_generic_foreign_key_leave_contenttypes_fields_unimported() -> None:
    # A fresh interpreter: contenttypes installed, vinyl_async's instance classes built for
    # models without a generic foreign key, as a first read does (no server needed).
    code = (
        "import sys, django\n"
        "from django.conf import settings\n"
        "settings.configure(\n"
        "    DATABASES={},\n"
        "    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth'],\n"
        ")\n"
        "django.setup()\n"
        "from django.contrib.auth.models import Group, Permission, User\n"
        "from vinyl.model._async.instance import instance_class\n"
        "from vinyl_async import VinylQuerySet\n"
        "for model in (Group, Permission, User):\n"
        "    instance_class(model, VinylQuerySet)\n"
        "assert 'django.contrib.contenttypes.fields' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
