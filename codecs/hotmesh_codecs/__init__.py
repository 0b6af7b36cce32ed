"""Codec plugins for hotmesh."""
