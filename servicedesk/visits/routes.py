"""Pages of the visits area (being written)."""
