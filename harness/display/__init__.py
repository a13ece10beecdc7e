"""What a person sees in a notebook: readable DataFrames, the run picture, the bundle's step tree.

Everything here renders as plain HTML and SVG (no JavaScript), so it looks the same in JupyterLab
and in the HTML of an executed failure notebook.
"""
