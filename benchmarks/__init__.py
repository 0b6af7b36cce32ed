"""Benchmarks for hotmesh (run as modules, e.g. ``python -m benchmarks.streams``).

They print figures; they assert nothing. See ``docs/benchmarks-*.md`` for recorded runs.
"""
