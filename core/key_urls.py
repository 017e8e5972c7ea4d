from django.urls import path

from core import views

app_name = "keys"
urlpatterns = [
    path("", views.api_key_list, name="key-list"),
]
