"""Shared Postgres provider logic for hotmesh."""
