"""Tabular benchmark backend: trials answered from a lookup table on a simulated clock."""
