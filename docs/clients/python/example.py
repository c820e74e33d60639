"""Python: sign in with an API key, subscribe to the tenant's changes over graphql-transport-ws,
create a ticket, fire its process transition, and receive the transition's event.

    pip install -r requirements.txt
    BPAAS_URL=http://localhost:8080 BPAAS_API_KEY=bpk_live_... python example.py
"""

import asyncio
import json
import os

import requests
import websockets

URL = os.environ["BPAAS_URL"]
KEY = os.environ["BPAAS_API_KEY"]


def gql(query, variables=None):
    """POSTs a GraphQL request with the API key; raises on any error."""
    response = requests.post(
        f"{URL}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def main():
    ws_url = URL.replace("http", "ws", 1) + "/graphql/ws"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {KEY}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({
            "type": "subscribe",
            "id": "changes",
            "payload": {"query": "subscription { changes(modules: [PROCESSES]) { sequence recordId action } }"},
        }))

        ticket = gql('mutation { createTicket(input: {title: "Printer jams (Python)"}) { id ticketNo } }')["createTicket"]
        print("created ticket", ticket["ticketNo"])
        instances = gql(
            "query($id: ID!) { processInstances(filter: {recordId: {equals: $id}}) { nodes { id version } } }",
            {"id": ticket["id"]},
        )["processInstances"]["nodes"]
        instance = instances[0]
        fired = gql(
            "mutation($id: ID!, $v: Int!) { fireTransition(instanceId: $id, transition: \"start\", expectedVersion: $v) { state } }",
            {"id": instance["id"], "v": instance["version"]},
        )["fireTransition"]
        print("ticket is now", fired["state"])

        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            assert message["type"] == "next", message
            change = message["payload"]["data"]["changes"]
            if change["recordId"] == instance["id"] and change["action"] == "transitioned":
                print("received event", change["sequence"], change["action"])
                break
    print("python example: ok")


asyncio.run(main())
