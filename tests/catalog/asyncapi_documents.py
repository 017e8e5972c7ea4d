"""AsyncAPI documents of every shape issue 16 names, written for these tests (modelled on the
shapes of published documents, not copied): templated and path addresses, `/`, parameters,
request/reply, servers, security, bindings, headers, examples, tags, external docs, every payload
format, a bundle with relative references and a remote one, in 2.6 and 3.0, JSON and YAML."""

# 3.0, YAML: templated addresses with a parameter, servers with security, channel and message
# bindings, headers, examples, tags, external docs, a header correlation id, a JSON Schema payload
# declared as YAML draft-07.
LAMPS_V3 = """
asyncapi: 3.0.0
info:
  title: Lamp Controller
  version: 0.4.0
  description: Measures and switches street lamps.
  contact: {name: Lighting Team}
  license: {name: Apache 2.0, url: 'https://www.apache.org/licenses/LICENSE-2.0'}
  tags: [{name: iot}]
  externalDocs: {url: 'https://wiki.example.org/lamps'}
defaultContentType: application/json
servers:
  plant:
    host: mqtt.plant.example.org:8883
    protocol: mqtts
    description: The plant's broker
    security: [{$ref: '#/components/securitySchemes/certs'}]
    bindings: {mqtt: {clientId: lamp-controller, cleanSession: true}}
channels:
  lumens:
    address: town/lamps/1/0/event/{lampId}/lighting/measured
    title: Lumens measured
    description: Light readings of one lamp.
    parameters:
      lampId: {$ref: '#/components/parameters/lampId'}
    messages:
      lumensMeasured: {$ref: '#/components/messages/lumensMeasured'}
    bindings: {mqtt: {bindingVersion: 0.2.0}}
  switchOn:
    address: town/lamps/1/0/action/{lampId}/turn/on
    parameters:
      lampId: {$ref: '#/components/parameters/lampId'}
    messages:
      switchOn: {$ref: '#/components/messages/switchCommand'}
operations:
  reportLumens:
    action: send
    channel: {$ref: '#/channels/lumens'}
    summary: Tell the town how bright a lamp is.
    traits: [{bindings: {mqtt: {qos: 1}}}]
    messages: [{$ref: '#/channels/lumens/messages/lumensMeasured'}]
  obeySwitchOn:
    action: receive
    channel: {$ref: '#/channels/switchOn'}
    messages: [{$ref: '#/channels/switchOn/messages/switchOn'}]
components:
  parameters:
    lampId: {description: The lamp's id.}
  securitySchemes:
    certs: {type: X509, description: Client certificates}
  messages:
    lumensMeasured:
      name: LumensMeasured
      title: Lumens measured
      summary: How bright one lamp is now.
      contentType: application/json
      tags: [{name: telemetry}]
      externalDocs: {url: 'https://wiki.example.org/lamps/lumens'}
      correlationId: {location: '$message.header#/requestId'}
      headers:
        type: object
        properties:
          requestId: {type: string}
      payload:
        schemaFormat: application/schema+yaml;version=draft-07
        schema: {$ref: '#/components/schemas/lumens'}
      examples:
        - name: dim
          headers: {requestId: r-1}
          payload: {lumens: 3, sentAt: '2024-05-01T10:00:00Z'}
      bindings: {mqtt: {bindingVersion: 0.2.0}}
    switchCommand:
      name: SwitchOn
      summary: Turn a lamp on.
      payload:
        type: object
        properties:
          at: {type: string, format: date-time}
  schemas:
    lumens:
      type: object
      required: [lumens]
      properties:
        lumens: {type: integer, minimum: 0}
        sentAt: {type: string, format: date-time}
"""

# 2.6, YAML: path addresses (`user/signedup`), a parameter in a 2.x channel key, an Avro payload,
# a oneOf of messages, Kafka bindings, servers and a security scheme, a payload correlation id.
ACCOUNTS_V26 = """
asyncapi: '2.6.0'
id: urn:example:accounts
info:
  title: Account Events
  version: '1.2.0'
servers:
  production:
    url: kafka.example.org:9092
    protocol: kafka
    security: [{sasl: []}]
channels:
  user/signedup:
    description: New accounts.
    bindings: {kafka: {topic: user-signedup, partitions: 6}}
    subscribe:
      operationId: emitUserSignedUp
      summary: An account was created.
      message: {$ref: '#/components/messages/UserSignedUp'}
  user/{userId}/closed:
    parameters:
      userId: {description: The account, schema: {type: string}}
    publish:
      operationId: onAccountClosed
      message:
        oneOf:
          - {$ref: '#/components/messages/AccountClosed'}
          - {$ref: '#/components/messages/AccountPurged'}
components:
  securitySchemes:
    sasl: {type: scramSha256}
  messages:
    UserSignedUp:
      name: UserSignedUp
      title: User signed up
      schemaFormat: application/vnd.apache.avro;version=1.9.0
      correlationId: {location: '$message.payload#/signupId'}
      bindings: {kafka: {key: {type: string}}}
      payload:
        type: record
        name: UserSignedUp
        namespace: org.example.accounts
        fields:
          - {name: signupId, type: string}
          - {name: email, type: string}
          - {name: plan, type: string, default: free}
    AccountClosed:
      name: AccountClosed
      payload:
        type: object
        properties:
          userId: {type: string}
    AccountPurged:
      payload:
        type: object
        properties:
          userId: {type: string}
          purgedAt: {type: string}
"""

# 3.0, JSON: request/reply on the root address `/` with a reply channel whose address is only
# known at run time (null), a payload correlation id, a Protobuf payload, a JSON Schema draft-04
# payload and a payload in a format no registry knows.
QUOTES_V3 = {
    "asyncapi": "3.0.0",
    "info": {"title": "Quote Desk", "version": "1.0.0"},
    "channels": {
        "root": {
            "address": "/",
            "messages": {"quoteRequested": {"$ref": "#/components/messages/quoteRequested"}},
        },
        "quoteReplies": {
            "address": None,
            "messages": {"quoteGiven": {"$ref": "#/components/messages/quoteGiven"}},
        },
        "prices": {
            "address": "prices/{currency}/{venue}",
            "parameters": {"currency": {"enum": ["EUR", "USD"]}, "venue": {}},
            "messages": {
                "pricePosted": {"$ref": "#/components/messages/pricePosted"},
                "ticker": {"$ref": "#/components/messages/ticker"},
            },
        },
    },
    "operations": {
        "askQuote": {
            "action": "send",
            "channel": {"$ref": "#/channels/root"},
            "messages": [{"$ref": "#/channels/root/messages/quoteRequested"}],
            "reply": {
                "address": {"location": "$message.header#/replyTo"},
                "channel": {"$ref": "#/channels/quoteReplies"},
                "messages": [{"$ref": "#/channels/quoteReplies/messages/quoteGiven"}],
            },
        },
        "watchPrices": {"action": "receive", "channel": {"$ref": "#/channels/prices"}},
    },
    "components": {
        "correlationIds": {"byRequest": {"location": "$message.payload#/reqid"}},
        "messages": {
            "quoteRequested": {
                "name": "QuoteRequested",
                "correlationId": {"$ref": "#/components/correlationIds/byRequest"},
                "payload": {
                    "schemaFormat": "application/schema+json;version=draft-04",
                    "schema": {
                        "type": "object",
                        "required": ["reqid", "amount"],
                        "properties": {
                            "reqid": {"type": "string"},
                            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                        },
                    },
                },
            },
            "quoteGiven": {
                "name": "QuoteGiven",
                "correlationId": {"$ref": "#/components/correlationIds/byRequest"},
                "payload": {
                    "schemaFormat": "application/vnd.google.protobuf;version=3",
                    "schema": 'syntax = "proto3";\nmessage QuoteGiven { string reqid = 1; double price = 2; }\n',
                },
            },
            "pricePosted": {
                "name": "PricePosted",
                "payload": {
                    "schemaFormat": "application/raml+yaml;version=1.0",
                    "schema": {"type": "object", "properties": {"price": "number"}},
                },
            },
            "ticker": {"name": "Ticker", "summary": "A price tick", "payload": {"type": "string"}},
        },
    },
}

# 3.0 bundle: the root names its messages in another file, which names its schema in a third,
# and one payload behind a remote reference that is reported, never fetched.
BUNDLE_FILES = {
    "orders/asyncapi.yaml": """
asyncapi: 3.0.0
info: {title: Order Desk, version: 2.0.0}
channels:
  placed:
    address: orders/placed
    messages:
      orderPlaced: {$ref: 'messages/orders.yaml#/OrderPlaced'}
      orderAudited: {$ref: 'messages/orders.yaml#/OrderAudited'}
operations:
  placeOrder:
    action: send
    channel: {$ref: '#/channels/placed'}
""",
    "orders/messages/orders.yaml": """
OrderPlaced:
  name: OrderPlaced
  summary: An order was placed.
  payload: {$ref: '../schemas/order.json'}
OrderAudited:
  name: OrderAudited
  payload: {$ref: 'https://schemas.example.org/audit.json'}
""",
    "orders/schemas/order.json": """
{"type": "object", "required": ["orderId"],
 "properties": {"orderId": {"type": "string"}, "lines": {"type": "array", "items": {"$ref": "#/definitions/line"}}},
 "definitions": {"line": {"type": "object", "properties": {"sku": {"type": "string"}}}}}
""",
}
