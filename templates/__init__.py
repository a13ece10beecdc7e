"""Fixture templates (``templates/<pattern>/``), shipped as the ``harness.templates`` package data."""
