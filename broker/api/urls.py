from django.urls import path

from broker.api import views

urlpatterns = [
    path("topics", views.TopicListView.as_view(), name="topic-list"),
    path("topics/<str:topic>", views.TopicDetailView.as_view(), name="topic-detail"),
    path("topics/<str:topic>/events", views.TopicEventsView.as_view(), name="topic-events"),
    path(
        "topics/<str:topic>/partitions/<int:partition>/events",
        views.PartitionEventsView.as_view(),
        name="partition-events",
    ),
    path("groups", views.GroupListView.as_view(), name="group-list"),
    path("groups/<str:group>", views.GroupDetailView.as_view(), name="group-detail"),
    path("groups/<str:group>/members", views.GroupMembersView.as_view(), name="group-members"),
    path("groups/<str:group>/members/<str:member>", views.MemberDetailView.as_view(), name="group-member"),
    path(
        "groups/<str:group>/members/<str:member>/heartbeat",
        views.MemberHeartbeatView.as_view(),
        name="group-member-heartbeat",
    ),
    path(
        "groups/<str:group>/members/<str:member>/events", views.MemberEventsView.as_view(), name="group-member-events"
    ),
    path("groups/<str:group>/members/<str:member>/seek", views.MemberSeekView.as_view(), name="group-member-seek"),
    path("groups/<str:group>/members/<str:member>/nack", views.MemberNackView.as_view(), name="group-member-nack"),
    path("groups/<str:group>/members/<str:member>/ack", views.MemberAckView.as_view(), name="group-member-ack"),
    path("groups/<str:group>/retry-policy", views.GroupRetryPolicyView.as_view(), name="group-retry-policy"),
    path("groups/<str:group>/offsets", views.GroupOffsetsView.as_view(), name="group-offsets"),
    path("groups/<str:group>/offsets/reset", views.GroupOffsetsResetView.as_view(), name="group-offsets-reset"),
    path("dead-letters", views.DeadLetterListView.as_view(), name="dead-letter-list"),
    path("dead-letters/redrive", views.DeadLetterRedriveView.as_view(), name="dead-letter-redrive"),
    path("dead-letters/<int:id>/resolve", views.DeadLetterResolveView.as_view(), name="dead-letter-resolve"),
    path(
        "dead-letters/<int:id>/edit-and-redrive",
        views.DeadLetterEditAndRedriveView.as_view(),
        name="dead-letter-edit-and-redrive",
    ),
]
