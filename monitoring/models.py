"""Lag history and trace indexes arrive with the monitoring issue."""
