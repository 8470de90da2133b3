"""get_backend() and the pool OPTIONS: what a vinyl alias is, and clear errors otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from vinyl.query import get_backend
from vinyl.query.databases import read_pool_config


def settings_dict(**options: Any) -> dict[str, Any]:
    return {
        "HOST": "db",
        "PORT": "5433",
        "USER": "u",
        "PASSWORD": "p",
        "NAME": "n",
        "OPTIONS": options,
    }


def test_a_vinyl_alias_has_a_private_never_connected_wrapper() -> None:
    backend = get_backend("vinyl_pg")
    assert get_backend("vinyl_pg") is backend
    assert backend.wrapper is not connections["vinyl_pg"]
    assert backend.wrapper.connection is None
    assert backend.dialect.vendor == "postgresql"
    assert backend.config.max_size == 5


def test_a_non_vinyl_alias_is_refused_naming_alias_engine_and_the_fix() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        get_backend("mysql")
    message = str(info.value)
    assert "'mysql' uses ENGINE 'django.db.backends.mysql'" in message
    assert "'vinyl.postgresql_backend', 'vinyl.mysql_backend'" in message


def test_an_unknown_alias_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="'nope' is not in settings.DATABASES"):
        get_backend("nope")


def test_pool_options_are_read_and_the_rest_kept_for_the_driver() -> None:
    config = read_pool_config(
        "a",
        settings_dict(
            pool_min_size=0,
            pool_max_size=3,
            pool_timeout=2,
            connect_timeout=1.5,
            isolation_level="Repeatable Read",
            statement_cache_size=0,
            sslmode="require",
        ),
    )
    assert (config.min_size, config.max_size, config.timeout, config.connect_timeout) == (
        0,
        3,
        2.0,
        1.5,
    )
    assert config.isolation_level == "repeatable read"
    assert config.statement_cache_size == 0
    assert config.options == {"sslmode": "require"}
    assert (config.address, config.user, config.name) == ("db:5433", "u", "n")


def test_pool_defaults() -> None:
    config = read_pool_config("a", settings_dict())
    assert (config.min_size, config.max_size, config.timeout) == (1, 10, 30.0)
    assert config.isolation_level is None and config.statement_cache_size is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_max_size": 0}, r"\['pool_max_size'\] is 0; use an integer >= 1"),
        ({"pool_max_size": "5"}, r"\['pool_max_size'\] is '5'; use an integer >= 1"),
        ({"pool_min_size": True}, r"\['pool_min_size'\] is True; use an integer >= 0"),
        ({"pool_min_size": 4, "pool_max_size": 2}, r"pool_min_size \(4\) is larger than"),
        ({"pool_timeout": -1}, r"\['pool_timeout'\] is -1; use a number of seconds > 0"),
        ({"connect_timeout": "1"}, r"\['connect_timeout'\] is '1'; use a number of seconds"),
        ({"statement_cache_size": -1}, r"\['statement_cache_size'\] is -1; use an integer"),
        ({"isolation_level": "chaos"}, r"\['isolation_level'\] is 'chaos'; use one of"),
    ],
)
def test_bad_pool_options_name_alias_option_and_fix(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DATABASES\['a'\]\['OPTIONS'\]"):
        read_pool_config("a", settings_dict(**options))
    with pytest.raises(ImproperlyConfigured, match=message):
        read_pool_config("a", settings_dict(**options))
