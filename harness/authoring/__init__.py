"""Authoring-time tooling: fixture templates, ``harness new``/``list``/``lab`` and notebook hygiene.

Nothing here runs inside a fixture kernel; fixtures depend only on the ``harness`` library.
"""
