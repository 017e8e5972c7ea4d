"""Hand-written AsyncAPI documents for the import tests."""

SHIPPING_V3 = {
    "asyncapi": "3.0.0",
    "info": {
        "title": "Shipping Service",
        "version": "2.1.0",
        "description": "Ships paid orders",
        "contact": {"name": "Warehouse Team"},
    },
    "channels": {
        "shipments": {
            "address": "shipments",
            "messages": {"OrderShipped": {"$ref": "#/components/messages/OrderShipped"}},
        },
        "payments": {
            "address": "payments.v1",
            "messages": {"PaymentCompleted": {"$ref": "#/components/messages/PaymentCompleted"}},
        },
    },
    "operations": {
        "sendOrderShipped": {
            "action": "send",
            "channel": {"$ref": "#/channels/shipments"},
            "messages": [{"$ref": "#/channels/shipments/messages/OrderShipped"}],
        },
        "receivePaymentCompleted": {"action": "receive", "channel": {"$ref": "#/channels/payments"}},
    },
    "components": {
        "messages": {
            "OrderShipped": {
                "name": "OrderShipped",
                "summary": "A parcel left the warehouse",
                "description": "Carrier has it.",
                "payload": {"$ref": "#/components/schemas/OrderShipped"},
            },
            "PaymentCompleted": {
                "name": "PaymentCompleted",
                "summary": "Money captured",
                "payload": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
            },
        },
        "schemas": {
            "OrderShipped": {
                "type": "object",
                "additionalProperties": False,
                "required": ["order_id", "carrier"],
                "properties": {"order_id": {"type": "string"}, "carrier": {"$ref": "#/components/schemas/Carrier"}},
            },
            "Carrier": {"type": "string", "enum": ["DHL", "UPS"]},
        },
    },
}

NOTIFIER_V26 = """
asyncapi: '2.6.0'
info:
  title: Notifier
  version: '1.0.0'
channels:
  alerts:
    subscribe:
      message:
        name: AlertRaised
        summary: Something needs a human
        payload:
          type: object
          properties:
            text: {type: string}
  orders:
    publish:
      message:
        oneOf:
          - name: OrderPlaced
            payload: {type: object}
          - name: OrderCancelled
            payload: {type: object}
"""
