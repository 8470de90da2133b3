"""The read workloads; importing this package registers them all, in table order."""

from vinyl_bench.workloads import fetch_objects, get_concurrent, get_serial, prefetch, values_list

__all__ = ["fetch_objects", "get_concurrent", "get_serial", "prefetch", "values_list"]
