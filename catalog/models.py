"""Catalog models (domains, teams, event types) arrive with the catalog issue."""
