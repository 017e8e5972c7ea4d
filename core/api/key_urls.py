from django.urls import path

from core.api import views

urlpatterns = [
    path("keys", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("keys/<str:key_id>/rotate", views.ApiKeyRotateView.as_view(), name="api-key-rotate"),
    path("keys/<str:key_id>/revoke", views.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]
