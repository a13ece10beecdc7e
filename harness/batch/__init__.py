"""The batch engine: a pytest plugin that runs each fixture folder as one test.

``pytest fixtures/`` and ``harness run-all`` (a preset of pytest arguments) both run through it, so
selection (``-k``), ``-x``, ``--lf``, parallel lanes (pytest-xdist), duration-balanced shards
(pytest-split) and reports (``--junitxml``, pytest-html, ``--report-log``) are pytest's own.
"""
