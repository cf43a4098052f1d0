"""``python -m cartwise.cli``: the same as the ``cartwise`` command."""

from cartwise.cli.main import main

main()
