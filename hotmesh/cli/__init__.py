"""The ``hotmesh`` command line (``hotmesh = "hotmesh.cli:main"``; ``python -m hotmesh.cli``).

* :mod:`hotmesh.cli.app`: the Typer app, the job commands and :func:`main`;
* :mod:`hotmesh.cli.support`: options, connecting, output helpers shared by the commands;
* :mod:`hotmesh.cli.tools`: ``demo``, ``bench``, ``roll-call``, ``throttle``, worker roles…;
* :mod:`hotmesh.cli.serve`, :mod:`hotmesh.cli.dashboard`: ``serve`` and ``dashboard``;
* :mod:`hotmesh.cli.demo`, :mod:`hotmesh.cli.bench`: the demo and the seed benchmark.

Example:
    >>> from hotmesh.cli import main
    >>> main(["--help"])  # doctest: +SKIP
"""

from hotmesh.cli.app import app, main

__all__ = ["app", "main"]
