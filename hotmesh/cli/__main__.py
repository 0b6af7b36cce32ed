"""``python -m hotmesh.cli``: the ``hotmesh`` command."""

import sys

from hotmesh.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
