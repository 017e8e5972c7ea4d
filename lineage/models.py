"""Lineage reads the catalog and the broker's observations; it stores nothing of its own yet."""
