"""The mesh: how the processes of one app share work through the provider.

* :mod:`hotmesh.mesh.router`: claims messages from one stream and runs a handler on each;
* :mod:`hotmesh.mesh.worker`: a worker topic's router and the user callback it runs;
* :mod:`hotmesh.mesh.quorum`: roll calls, throttles and version activation across members;
* :mod:`hotmesh.mesh.roles`: secured worker roles (one database login per worker topic).

The mesh sits on the engine (it never imports the facade); :class:`hotmesh.HotMesh` drives it.
"""
