"""Executing fixture notebooks: the papermill engine with teardown, single and batch runs."""
import sys

# nbformat imports jsonschema, which builds an IRI grammar at import time when the optional
# rfc3987-syntax package is installed (JupyterLab pulls it in): about 0.9 s on every command.
# The runner never validates IRI formats, so that optional module is hidden from this process only.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
