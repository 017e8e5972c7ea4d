from django.urls import path

from catalog.api import views

urlpatterns = [
    path("domains/", views.DomainListView.as_view(), name="catalog-domain-list"),
    path("domains/<str:name>", views.DomainDetailView.as_view(), name="catalog-domain-detail"),
    path("teams/", views.TeamListView.as_view(), name="catalog-team-list"),
    path("teams/<str:name>", views.TeamDetailView.as_view(), name="catalog-team-detail"),
    path("services/", views.ServiceListView.as_view(), name="catalog-service-list"),
    path("services/<str:name>", views.ServiceDetailView.as_view(), name="catalog-service-detail"),
    path("services/<str:name>/asyncapi", views.ServiceAsyncAPIView.as_view(), name="catalog-service-asyncapi"),
    path("event-types/", views.EventTypeListView.as_view(), name="catalog-event-type-list"),
    path("event-types/<str:name>", views.EventTypeDetailView.as_view(), name="catalog-event-type-detail"),
    path("flows/", views.BusinessFlowListView.as_view(), name="catalog-business-flow-list"),
    path("flows/<str:name>", views.BusinessFlowDetailView.as_view(), name="catalog-business-flow-detail"),
    path("changes/", views.ChangeListView.as_view(), name="catalog-change-list"),
    path("inbox/", views.InboxView.as_view(), name="catalog-inbox"),
    path("export", views.CatalogFolderExportView.as_view(), name="catalog-folder-export"),
    path("import", views.CatalogFolderImportView.as_view(), name="catalog-folder-import"),
    path("asyncapi/import", views.AsyncAPIImportView.as_view(), name="catalog-asyncapi-import"),
]
