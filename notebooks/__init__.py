"""Exploration notebooks, shipped as the ``harness.notebooks`` package data (``harness lab`` copies them)."""
