"""Routing quality: labelled evaluation sets, their metrics, ``tiergate eval`` and ``tiergate tune``."""
