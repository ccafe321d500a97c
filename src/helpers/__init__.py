"""Helpers for the digital-government convergence report: cleaning, passages, analysis, figures, rendering."""

__version__ = "0.1.0"
