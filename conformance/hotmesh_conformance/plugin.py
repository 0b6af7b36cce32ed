"""pytest plugin: the hotmesh provider conformance suite."""
