"""A vinyl alias on the same database as a Django alias is that alias's test mirror.

``manage.py test`` on the README's settings is tested end to end in ``tests/django_project``;
these tests pin what "the same database" means (``vinyl.query.creation``).
"""

from __future__ import annotations

import copy

from django.db import connections
from django.db.utils import load_backend
from vinyl.query.creation import database_identity, django_twin


def test_local_host_spellings_and_the_default_port_are_one_server() -> None:
    # The README's default names no HOST or PORT; its vinyl alias names 127.0.0.1:5432.
    readme_default = {"HOST": "", "PORT": "", "NAME": "shop"}
    readme_vinyl = {"HOST": "127.0.0.1", "PORT": "5432", "NAME": "shop"}
    assert database_identity("postgresql", readme_default) == database_identity(
        "postgresql", readme_vinyl
    )
    socket = {"HOST": "/run/mysqld/mysqld.sock", "NAME": "shop"}
    local = {"HOST": "localhost", "PORT": 3306, "NAME": "shop"}
    assert database_identity("mysql", socket) == database_identity("mysql", local)


def test_another_name_server_port_or_vendor_is_another_database() -> None:
    base = {"HOST": "127.0.0.1", "PORT": "5432", "NAME": "shop"}
    others = [{**base, "NAME": "shop2"}, {**base, "HOST": "db.example"}, {**base, "PORT": "5433"}]
    identity = database_identity("postgresql", base)
    assert [database_identity("postgresql", other) == identity for other in others] == [False] * 3
    assert database_identity("mysql", base) != identity


def test_the_vinyl_alias_without_test_settings_mirrors_the_django_alias() -> None:
    settings_dict = copy.deepcopy(connections.settings["vinyl_pg"])
    settings_dict["TEST"]["NAME"] = None
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "vinyl_pg")
    assert wrapper.settings_dict["TEST"]["MIRROR"] == "default"


def test_a_test_name_of_its_own_keeps_the_alias_apart() -> None:
    # vinyl's own test settings give vinyl_pg a TEST NAME (default's): no mirror is made.
    assert django_twin(connections["vinyl_pg"]) == "default"
    assert connections["vinyl_pg"].settings_dict["TEST"]["MIRROR"] is None
    assert django_twin(connections["vinyl_mysql"]) == "mysql"
