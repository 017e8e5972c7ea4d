"""Group actions on the group page: remove the members (confirmed first) so offsets can be reset,
and delete an empty group. Editors act and are audited; viewers get 403; a refusal is shown inline
and changes nothing."""

import pytest

from broker.models import ConsumerGroup, GroupMember, GroupPartition
from core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_with_member(api, make_topic):
    """Group g0 has committed offset 3 on orders/0 and one active member."""
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(10)])
    api.post("/api/v1/groups/g0/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 3}]})
    member = api.post("/api/v1/groups/g0/members", {"topics": ["orders"]}).json()
    return member["member_id"]


def audited(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, target="g0", actor="editor-person"))


def test_the_reset_refused_for_members_offers_to_remove_them(as_role, group_with_member):
    page = as_role("editor").post("/monitoring/groups/g0/reset/", {"topic": "orders", "to": "earliest"})
    assert 'id="reset-error"' in page.content.decode() and 'id="members-remove"' in page.content.decode()


def test_removing_members_asks_first_saying_they_rejoin_and_rebalance_then_removes_and_audits(
    as_role, group_with_member
):
    editor = as_role("editor")
    ask = editor.post("/monitoring/groups/g0/members/remove/").content.decode()
    assert group_with_member in ask and "rejoin" in ask and "rebalance" in ask
    assert GroupMember.objects.filter(group__name="g0").count() == 1
    done = editor.post("/monitoring/groups/g0/members/remove/", {"confirm": "1"}).content.decode()
    assert 'id="members-removed"' in done and "Removed 1 member" in done
    assert not GroupMember.objects.filter(group__name="g0").exists()
    [entry] = audited("group.member_removed")
    assert entry.before["member_id"] == group_with_member
    reset = editor.post("/monitoring/groups/g0/reset/", {"topic": "orders", "to": "earliest", "apply": "1"})
    assert "Applied" in reset.content.decode()
    assert GroupPartition.objects.get(group__name="g0").committed_offset == 0


def test_a_group_with_members_is_not_deleted_and_says_why_inline(as_role, group_with_member):
    response = as_role("editor").post("/monitoring/groups/g0/delete/")
    assert response.status_code == 409 and 'id="group-delete-error"' in response.content.decode()
    assert GroupPartition.objects.filter(group__name="g0").exists() and not audited("group.deleted")


def test_an_editor_deletes_an_empty_group_and_the_deletion_is_audited(as_role, api, make_topic):
    make_topic("orders")
    api.post("/api/v1/groups/g0/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 0}]})
    response = as_role("editor").post("/monitoring/groups/g0/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == "/monitoring/"
    assert not GroupPartition.objects.filter(group__name="g0").exists()
    assert ConsumerGroup.objects.get(name="g0").state == "Dead"
    assert len(audited("group.deleted")) == 1


def test_a_viewer_sees_no_group_actions_and_gets_403(as_role, group_with_member):
    viewer = as_role("viewer")
    page = viewer.get("/monitoring/groups/g0/").content.decode()
    assert 'id="group-delete"' not in page and 'id="reset-panel"' not in page
    assert viewer.post("/monitoring/groups/g0/members/remove/", {"confirm": "1"}).status_code == 403
    assert viewer.post("/monitoring/groups/g0/delete/").status_code == 403
    assert GroupMember.objects.filter(group__name="g0").count() == 1


def test_an_editor_sees_the_delete_action(as_role, group_with_member):
    assert 'id="group-delete"' in as_role("editor").get("/monitoring/groups/g0/").content.decode()
