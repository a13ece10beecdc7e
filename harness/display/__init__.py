"""What a person sees in a notebook: readable DataFrames, the run picture, the bundle's step tree.

Everything here renders as plain HTML with inline styles (no JavaScript, no external assets), so it
looks the same in JupyterLab, in a re-opened (untrusted, sanitised) notebook and in the HTML of an
executed failure notebook.
"""
from .readable import install_readable_frames as install_readable_frames
