"""``python -m sim`` is the same as the ``ccsim`` command."""

from .commands import ccsim

ccsim()
