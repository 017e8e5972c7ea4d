import pytest

from catalog import services
from core.auth import Principal

EDITOR = Principal(scopes=frozenset({"admin"}), username="seed")


@pytest.fixture
def catalog_base(db, make_topic):
    """A domain, a team, a topic: what an event type needs."""
    domain = services.domain_create(principal=EDITOR, name="Ordering", description="Orders and carts")
    team = services.team_create(principal=EDITOR, name="Checkout Team")
    topic = make_topic("orders", partitions=3)
    return domain, team, topic


@pytest.fixture
def make_event_type(catalog_base):
    def make(name="OrderPlaced", **data):
        payload = {
            "name": name,
            "domain": "Ordering",
            "owner_team": "Checkout Team",
            "summary": f"{name} happened",
            **data,
        }
        return services.event_type_create(principal=EDITOR, data=payload)

    return make
