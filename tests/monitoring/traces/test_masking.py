"""Traces show personal data masked to keys and people without the right to see it (pii:read,
admin, the pii group), and as stored to those with it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from broker.masking import MASK
from catalog.demo import seed_demo

pytestmark = pytest.mark.django_db

EMAIL = "someone@example.com"


@pytest.fixture
def placed(make_api):
    seed_demo()  # OrderPlaced classifies /customer/email
    data = {
        "order_id": "ord-0123456789",
        "customer": {"id": "cus-1", "email": EMAIL},
        "items": [{"sku": "SKU-1", "quantity": 1}],
        "total": 10.0,
        "currency": "EUR",
    }
    response = make_api("produce:orders", service="orders").post(
        "/api/v1/topics/orders/events", {"type": "OrderPlaced", "correlationid": "order-pii", "data": data}
    )
    assert response.status_code == 200, response.content


def customer_in_trace(client) -> dict:
    response = client.get("/api/v1/traces/order-pii")
    assert response.status_code == 200, response.content
    return response.json()["events"][0]["data"]["customer"]


def test_a_key_without_pii_read_sees_the_email_masked_in_the_trace(make_api, placed):
    assert customer_in_trace(make_api("consume:*", service="reader")) == {"id": "cus-1", "email": MASK}


@pytest.mark.parametrize("scopes", [("consume:*", "pii:read"), ("admin",)])
def test_a_key_with_pii_read_or_admin_sees_it_as_produced(make_api, placed, scopes):
    assert customer_in_trace(make_api(*scopes, service="reader"))["email"] == EMAIL


def login(client, django_user_model, *groups: str):
    user = django_user_model.objects.create_user(username="-".join(groups), password="x")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("groups", "shown"), [(("viewer",), False), (("editor",), False), (("admin",), True), (("viewer", "pii"), True)]
)
def test_the_trace_page_masks_for_people_without_the_right(client, django_user_model, placed, groups, shown):
    page = login(client, django_user_model, *groups).get("/traces/order-pii/").content.decode()
    assert (EMAIL in page) is shown
    assert ("&quot;***&quot;" in page or '"***"' in page) is not shown
