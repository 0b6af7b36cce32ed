"""Conformance suite for hotmesh providers."""
