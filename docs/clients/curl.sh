#!/usr/bin/env bash
# curl: sign in with an API key, create a ticket, fire its process transition, and read the
# step it recorded (curl holds no WebSocket: the Python and TypeScript examples subscribe).
# Needs BPAAS_URL (http://host:port) and BPAAS_API_KEY.
set -euo pipefail
gql() {
    curl -sf "$BPAAS_URL/graphql" -H "Authorization: Bearer $BPAAS_API_KEY" \
        -H 'Content-Type: application/json' -d "$1"
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ticket=$(gql '{"query":"mutation { createTicket(input: {title: \"Printer jams (curl)\"}) { id ticketNo status } }"}')
ticket_id=$(echo "$ticket" | field 'd["data"]["createTicket"]["id"]')
echo "created ticket $(echo "$ticket" | field 'd["data"]["createTicket"]["ticketNo"]')"

instance=$(gql "{\"query\":\"{ processInstances(filter: {recordId: {equals: \\\"$ticket_id\\\"}}) { nodes { id version } } }\"}")
instance_id=$(echo "$instance" | field 'd["data"]["processInstances"]["nodes"][0]["id"]')
version=$(echo "$instance" | field 'd["data"]["processInstances"]["nodes"][0]["version"]')

fired=$(gql "{\"query\":\"mutation(\$id: ID!, \$v: Int!) { fireTransition(instanceId: \$id, transition: \\\"start\\\", expectedVersion: \$v) { state } }\",\"variables\":{\"id\":\"$instance_id\",\"v\":$version}}")
echo "ticket is now $(echo "$fired" | field 'd["data"]["fireTransition"]["state"]')"

steps=$(gql "{\"query\":\"{ processInstance(id: \\\"$instance_id\\\") { steps { transition toState } } }\"}")
last=$(echo "$steps" | field 'd["data"]["processInstance"]["steps"][-1]')
echo "last step: $last"
echo "$last" | grep -q "'toState': 'In Progress'"
echo "curl example: ok"
