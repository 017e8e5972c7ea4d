"""The Confluent Schema Registry REST API, mounted at /registry/ (filled by the registry issue)."""

urlpatterns: list = []
