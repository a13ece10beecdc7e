"""Executing fixture notebooks: the papermill engine with teardown, single and batch runs."""
