"""The package list, which pyproject.toml cannot express: every package under ``harness/`` plus the
top-level ``templates/`` (one data folder per template) and ``notebooks/`` folders, shipped as
``harness.templates`` and ``harness.notebooks`` (their folders are mapped in pyproject.toml's ``package-dir``)."""
from setuptools import find_namespace_packages, find_packages, setup

DATA = find_namespace_packages(include=["templates", "templates.*", "notebooks"], exclude=["*.__pycache__"])
setup(packages=[*find_packages(include=["harness", "harness.*"]), *(f"harness.{name}" for name in DATA)])
