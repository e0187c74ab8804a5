"""Demand pages (being written)."""
