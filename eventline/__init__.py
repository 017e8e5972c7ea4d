"""Eventline's Python client (no Django import): `from eventline.client import Producer, Consumer`."""
