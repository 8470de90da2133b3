"""The workloads; importing this package registers them all, in table order."""

from vinyl_bench.workloads import (
    bulk_create,
    create_serial,
    fetch_objects,
    get_concurrent,
    get_serial,
    prefetch,
    save_serial,
    transactions,
    values_list,
)

__all__ = [
    "bulk_create",
    "create_serial",
    "fetch_objects",
    "get_concurrent",
    "get_serial",
    "prefetch",
    "save_serial",
    "transactions",
    "values_list",
]
