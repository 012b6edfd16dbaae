"""seqlab's version, in a module of its own so that ``seqlab.io`` can stamp saved files
with it without importing the ``seqlab`` package (which imports ``io``)."""
__version__ = "0.1.0"  # the same as pyproject.toml's [project] version
