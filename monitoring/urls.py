"""Monitoring pages: the consumer-lag dashboard and group pages."""

app_name = "monitoring"
urlpatterns: list = []
