"""The lineage API: graph neighbourhoods, upstream, downstream, paths, cycles, orphans, ghosts,
drift and impact (JSON and CSV), with the error envelope for bad input; all in the OpenAPI
document."""

import csv
import io

import pytest
import yaml

from tests.lineage.conftest import MINUTE

pytestmark = pytest.mark.django_db

BASE = "/api/v1/lineage"


def node_ids(body):
    return [(n["id"], n["depth"]) for n in body["nodes"]]


def test_the_graph_of_an_event_type_holds_its_producers_and_consumers_with_flows(api, order_flow):
    response = api.get(f"{BASE}/graph", focus="event_type:OrderPlaced", depth=1, window="1h")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["focus"], body["depth"], body["window"], body["window_ms"], body["truncated"]) == (
        "event_type:OrderPlaced",
        1,
        "1h",
        3_600_000,
        False,
    )
    assert node_ids(body) == [
        ("event_type:OrderPlaced", 0),
        ("group:analytics-service", None),
        ("group:inventory-service", None),
        ("service:analytics", 1),
        ("service:inventory", 1),
        ("service:orders", 1),
        ("service:shipping", 1),
        ("topic:orders", None),
    ]
    edges = {e["id"]: (e["kind"], e["flow"], e["events"]) for e in body["edges"]}
    assert edges == {
        "event_type:OrderPlaced->service:analytics": ("consumes", "observed", 90),
        "event_type:OrderPlaced->service:inventory": ("consumes", "both", 90),
        "event_type:OrderPlaced->service:shipping": ("consumes", "declared", 0),
        "event_type:OrderPlaced->topic:orders": ("published_to", "both", 90),
        "group:analytics-service->service:analytics": ("runs_in", "observed", 100),
        "group:inventory-service->service:inventory": ("runs_in", "observed", 100),
        "service:orders->event_type:OrderPlaced": ("produces", "both", 90),
        "topic:orders->group:analytics-service": ("read_by", "observed", 100),
        "topic:orders->group:inventory-service": ("read_by", "observed", 100),
    }
    consuming = next(e for e in body["edges"] if e["id"] == "event_type:OrderPlaced->service:inventory")
    assert consuming["rate_per_s"] == 0.025 and consuming["last_seen_ms"] == order_flow.now - MINUTE
    assert consuming["groups"] == ["inventory-service"] and consuming["topics"] == ["orders"]
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes["service:inventory"]["url"] == "/catalog/services/inventory/"
    assert nodes["event_type:OrderPlaced"]["url"] == "/catalog/event-types/OrderPlaced/"
    assert nodes["topic:orders"]["url"] == "/topics/orders/"
    assert nodes["service:inventory"]["owner_team"] == "Warehouse Team"


def test_a_bare_name_focus_and_the_switches(api, order_flow):
    body = api.get(f"{BASE}/graph", focus="OrderPlaced", depth=1, broker="false").json()
    assert body["focus"] == "event_type:OrderPlaced"
    assert {n["kind"] for n in body["nodes"]} == {"event_type", "service"}
    in_warehouse = api.get(f"{BASE}/graph", focus="OrderPlaced", depth=2, team="Warehouse Team", broker="false").json()
    assert [n["id"] for n in in_warehouse["nodes"]] == [
        "event_type:OrderPlaced",
        "event_type:StockReserved",
        "service:inventory",
        "service:shipping",
    ]


def test_the_window_changes_what_the_graph_shows_as_observed(api, estate):
    estate.service("a").event_type("A", topic="t").declares("a", "producer", "A").produced(
        "a", "A", "t", ago_ms=30 * MINUTE
    )
    recent = api.get(f"{BASE}/graph", focus="service:a", depth=1, window="10m").json()
    hour = api.get(f"{BASE}/graph", focus="service:a", depth=1, window="1h").json()
    pick = lambda body: next(e for e in body["edges"] if e["kind"] == "produces")  # noqa: E731
    assert (pick(recent)["flow"], pick(recent)["events"]) == ("declared", 0)
    assert (pick(hour)["flow"], pick(hour)["events"]) == ("both", 60)


def test_without_a_focus_a_small_estate_is_sent_and_a_cap_is_said(api, order_flow):
    whole = api.get(f"{BASE}/graph", broker="false").json()
    assert (whole["focus"], whole["truncated"], whole["estate_nodes"], len(whole["nodes"])) == (None, False, 8, 8)
    capped = api.get(f"{BASE}/graph", broker="false", limit=3).json()
    assert capped["truncated"] and len(capped["nodes"]) == 3
    assert "showing the 3 most connected" in capped["message"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"focus": "nobody"}, 404, "node_not_found"),
        ({"window": "5y"}, 422, "invalid"),
        ({"depth": "11"}, 422, "invalid"),
        ({"depth": "two"}, 422, "invalid"),
        ({"limit": "0"}, 422, "invalid"),
        ({"broker": "-10080"}, 422, "invalid"),
    ],
)
def test_bad_graph_input_is_refused_in_the_error_envelope(api, order_flow, params, status, code):
    response = api.get(f"{BASE}/graph", **params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_reading_lineage_needs_a_key_or_a_login(client, order_flow):
    assert client.get(f"{BASE}/graph").status_code == 401


def test_downstream_and_upstream_to_a_depth(api, order_flow):
    down = api.get(f"{BASE}/downstream", node="service:orders", depth=4, window="1h").json()
    assert node_ids(down) == [
        ("event_type:OrderCancelled", 1),
        ("event_type:OrderPlaced", 1),
        ("service:analytics", 2),
        ("service:inventory", 2),
        ("service:shipping", 2),
        ("event_type:StockReserved", 3),
        ("service:payments", 4),
    ]
    assert all(e["kind"] in ("produces", "consumes") for e in down["edges"]) and len(down["edges"]) == 8
    up = api.get(f"{BASE}/upstream", node="payments", depth=3, window="1h").json()
    assert (up["node"], up["direction"]) == ("service:payments", "upstream")
    assert node_ids(up) == [("event_type:StockReserved", 1), ("service:inventory", 2), ("event_type:OrderPlaced", 3)]
    assert api.get(f"{BASE}/upstream").status_code == 422
    assert api.get(f"{BASE}/upstream", node="nobody").status_code == 404


def test_paths_between_two_services(api, order_flow):
    body = api.get(f"{BASE}/paths", source="orders", target="payments", window="1h").json()
    assert (body["source"], body["target"], body["truncated"]) == ("service:orders", "service:payments", False)
    assert [p["nodes"] for p in body["paths"]] == [
        [
            "service:orders",
            "event_type:OrderPlaced",
            "service:inventory",
            "event_type:StockReserved",
            "service:payments",
        ]
    ]
    assert body["paths"][0]["services"] == ["orders", "inventory", "payments"]
    assert [e["flow"] for e in body["paths"][0]["edges"]] == ["both"] * 4
    assert api.get(f"{BASE}/paths", source="payments", target="orders").json()["paths"] == []


def test_cycles(api, order_flow):
    assert api.get(f"{BASE}/cycles", window="1h").json() == {"window": "1h", "truncated": False, "cycles": []}
    order_flow.declares("orders", "consumer", "StockReserved")
    body = api.get(f"{BASE}/cycles", window="1h").json()
    assert body["cycles"] == [
        {
            "nodes": ["service:inventory", "event_type:StockReserved", "service:orders", "event_type:OrderPlaced"],
            "services": ["inventory", "orders"],
        }
    ]


def test_orphans_and_ghosts(api, order_flow):
    order_flow.event_type("InvoiceSent", topic="billing", team="Payments Team").produced(
        "payments", "InvoiceSent", "billing", events=4
    )
    order_flow.topic("refunds")
    order_flow.member("ledger", "accounting", "refunds")
    orphans = api.get(f"{BASE}/orphans").json()
    assert orphans["window"] == "7d"
    assert [(o["event_type"], o["producers"], o["topics"], o["events"]) for o in orphans["orphans"]] == [
        ("InvoiceSent", [{"service": "payments", "flow": "observed"}], ["billing"], 4)
    ]
    ghosts = api.get(f"{BASE}/ghosts").json()["ghosts"]
    assert ghosts == [
        {
            "basis": "subscription",
            "group": "ledger",
            "services": ["accounting"],
            "owner_teams": [],
            "topic": "refunds",
            "event_type": None,
            "declared_producers": [],
        }
    ]


def test_drift_lists_undeclared_and_unobserved_flows(api, order_flow):
    body = api.get(f"{BASE}/drift").json()
    assert body["window"] == "7d"
    assert [(d["kind"], d["service"], d["event_type"], d["events"]) for d in body["undeclared"]] == [
        ("consumes", "analytics", "OrderCancelled", 10),
        ("consumes", "analytics", "OrderPlaced", 90),
    ]
    assert body["undeclared"][1]["sentence"] == "analytics consumes OrderPlaced"
    assert body["undeclared"][1]["owner_team"] == "Data Team"
    assert [(d["kind"], d["service"], d["event_type"]) for d in body["unobserved"]] == [
        ("consumes", "shipping", "OrderPlaced")
    ]


EXPECTED_IMPACT = [
    (1, "analytics", "Data Team", "OrderPlaced", "observed", [], []),
    (1, "inventory", "Warehouse Team", "OrderPlaced", "both", [], ["StockReserved"]),
    (1, "shipping", "Warehouse Team", "OrderPlaced", "declared", [], []),
    (2, "payments", "Payments Team", "StockReserved", "both", ["inventory"], []),
]


def test_impact_lists_who_would_break_apart_from_who_is_downstream(api, order_flow):
    body = api.get(f"{BASE}/impact", event_type="OrderPlaced").json()
    assert (
        body["event_types"],
        body["subject"],
        body["topics"],
        body["window"],
        body["affected_services"],
        body["downstream_services"],
        body["max_depth"],
    ) == (["OrderPlaced"], "orders-OrderPlaced", ["orders"], "7d", 3, 1, 2)
    shown = [
        (r["depth"], r["service"], r["owner_team"], r["event_type"], r["flow"], r["via"], r["produces"])
        for r in body["consumers"] + body["downstream"]
    ]
    assert shown == EXPECTED_IMPACT
    assert [r["breaks"] for r in body["consumers"]] == [True, True, True]
    assert [r["breaks"] for r in body["downstream"]] == [False]


def test_impact_depth_is_bounded_on_request(api, order_flow):
    body = api.get(f"{BASE}/impact", event_type="OrderPlaced", depth=1).json()
    assert [r["service"] for r in body["consumers"]] == ["analytics", "inventory", "shipping"]
    assert api.get(f"{BASE}/impact", event_type="OrderPlaced", depth=0).status_code == 422


def test_impact_exports_csv(api, order_flow):
    response = api.get(f"{BASE}/impact", event_type="OrderPlaced", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="impact-OrderPlaced.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "impact",
        "depth",
        "service",
        "owner_team",
        "domain",
        "event_type",
        "flow",
        "via",
        "produces",
        "groups",
        "topics",
        "events",
        "last_seen_ms",
    ]
    assert [row[:9] for row in rows[1:]] == [
        ["breaks", "1", "analytics", "Data Team", "Analytics", "OrderPlaced", "observed", "", ""],
        ["breaks", "1", "inventory", "Warehouse Team", "Inventory", "OrderPlaced", "both", "", "StockReserved"],
        ["breaks", "1", "shipping", "Warehouse Team", "Fulfilment", "OrderPlaced", "declared", "", ""],
        ["downstream", "2", "payments", "Payments Team", "Payments", "StockReserved", "both", "inventory", ""],
    ]
    assert rows[2][9:12] == ["inventory-service", "orders", "90"]


def test_impact_json_download_by_subject_and_errors(api, order_flow):
    download = api.get(f"{BASE}/impact", subject="orders-OrderPlaced", download="true")
    assert download["Content-Disposition"] == 'attachment; filename="impact-OrderPlaced.json"'
    assert [r["service"] for r in download.json()["consumers"]] == ["analytics", "inventory", "shipping"]
    assert [r["service"] for r in download.json()["downstream"]] == ["payments"]
    missing = api.get(f"{BASE}/impact", event_type="Nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "event_type_not_found"
    assert api.get(f"{BASE}/impact", event_type="Nope", format="csv").status_code == 404
    assert api.get(f"{BASE}/impact").status_code == 422


def test_node_search_finds_nodes_by_part_of_a_name(api, order_flow):
    body = api.get(f"{BASE}/nodes", q="order").json()
    assert [n["id"] for n in body["nodes"]] == [
        "service:orders",
        "topic:orders",
        "event_type:OrderPlaced",
        "event_type:OrderCancelled",
    ]


def test_every_lineage_endpoint_is_in_the_openapi_document(api):
    document = yaml.safe_load(api.get("/api/schema/").content)
    for name in ("graph", "nodes", "upstream", "downstream", "paths", "cycles", "orphans", "ghosts", "drift", "impact"):
        assert "get" in document["paths"][f"{BASE}/{name}"], name
    impact = document["paths"][f"{BASE}/impact"]["get"]
    assert {p["name"] for p in impact["parameters"]} >= {"event_type", "subject", "format", "window"}
    assert "text/csv" in impact["responses"]["200"]["content"]
    graph = document["paths"][f"{BASE}/graph"]["get"]
    assert {p["name"] for p in graph["parameters"]} >= {"focus", "depth", "window", "domain", "team"}


def test_lineage_answers_only_keys_that_may_describe_every_topic(make_api, order_flow):
    narrow = make_api("consume:orders", service="billing")
    for path in ("graph", "nodes", "cycles", "orphans", "ghosts", "drift"):
        refused = narrow.get(f"{BASE}/{path}")
        assert refused.status_code == 403, path
        assert refused.json()["error"]["details"]["required_scope"] == "describe:*"
    assert narrow.get(f"{BASE}/downstream", node="service:orders").status_code == 403
    assert narrow.get(f"{BASE}/impact", event_type="OrderPlaced").status_code == 403
    assert make_api("consume:*", service="analytics").get(f"{BASE}/graph").status_code == 200
    assert make_api("describe:*", service="governance").get(f"{BASE}/drift").status_code == 200
