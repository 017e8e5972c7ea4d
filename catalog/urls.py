from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.event_type_list, name="event-type-list"),
    path("event-types/new/", views.event_type_create, name="event-type-create"),
    path("event-types/<str:name>/", views.event_type_detail, name="event-type-detail"),
    path("event-types/<str:name>/edit/", views.event_type_edit, name="event-type-edit"),
    path("services/", views.service_list, name="service-list"),
    path("services/<str:name>/", views.service_detail, name="service-detail"),
    path("services/<str:name>/edit/", views.service_edit, name="service-edit"),
    path("services/<str:name>/asyncapi.json", views.service_asyncapi, name="service-asyncapi"),
    path("domains/", views.domain_list, name="domain-list"),
    path("domains/new/", views.domain_create, name="domain-create"),
    path("domains/<str:name>/", views.domain_detail, name="domain-detail"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<str:name>/", views.team_detail, name="team-detail"),
    path("flows/", views.business_flow_list, name="business-flow-list"),
    path("flows/new/", views.business_flow_create, name="business-flow-create"),
    path("flows/<str:name>/edit/", views.business_flow_edit, name="business-flow-edit"),
    path("flows/<str:name>/delete/", views.business_flow_delete, name="business-flow-delete"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/dismiss/", views.inbox_dismiss, name="inbox-dismiss"),
    path("history/", views.history, name="history"),
    path("import/", views.asyncapi_import_page, name="asyncapi-import"),
]
