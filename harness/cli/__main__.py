"""``python -m harness.cli``: the same as the ``harness`` command."""
from . import main

main()
