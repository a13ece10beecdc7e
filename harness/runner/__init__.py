"""Executing fixture notebooks: the papermill engine with teardown, and single fixture runs."""
