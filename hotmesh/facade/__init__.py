"""The facade's parts. The public class is :class:`hotmesh.HotMesh` (``hotmesh/hotmesh.py``);
it delegates, and mixes in the calls grouped here:

* :mod:`hotmesh.facade.mesh_calls`: ``activate``, quorum messages, roll calls, throttles;
* :mod:`hotmesh.facade.job_reads`: ``export``, ``get_raw``, ``get_query_state``, ``add``;
* :mod:`hotmesh.facade.escalations`: ``hm.escalations`` (human-in-the-loop work items).
"""
