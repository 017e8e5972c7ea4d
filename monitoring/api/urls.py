"""Lag API under /api/v1/groups/{group}/..."""

urlpatterns: list = []
