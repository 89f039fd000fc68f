"""``python -m sim`` is the same as the ``ccsim`` command."""

from .cli import main

main()
