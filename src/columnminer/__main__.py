"""``python -m columnminer``: the command line (see :mod:`columnminer.cli`)."""

import sys

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
