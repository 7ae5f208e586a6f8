"""``python -m vlkit.cli``: the same as the ``vlkit`` command."""

from vlkit.cli import main

main()
