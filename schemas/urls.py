"""Registry pages in the web UI (filled by the registry issue)."""

app_name = "schemas"
urlpatterns: list = []
