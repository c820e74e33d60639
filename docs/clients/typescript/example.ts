// TypeScript: sign in with an API key, subscribe with graphql-ws, create a ticket, fire its
// process transition, and receive the transition's event. Types come from schema.graphql
// through graphql-codegen (npm run codegen).
//
//   npm ci && npm run codegen && npm run build
//   BPAAS_URL=http://localhost:8080 BPAAS_API_KEY=bpk_live_... npm start
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type {
  CreateTicketMutation,
  FireMutation,
  InstanceOfQuery,
  ProcessChangesSubscription,
} from "./generated.js";

const url = process.env.BPAAS_URL!;
const key = process.env.BPAAS_API_KEY!;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors) throw new Error(JSON.stringify(body));
  return body.data as T;
}

const ws = createClient({
  url: url.replace(/^http/, "ws") + "/graphql/ws",
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${key}` },
});

const changes = ws.iterate<ProcessChangesSubscription>({
  query: "subscription { changes(modules: [PROCESSES]) { sequence recordId action } }",
});
// Let the subscription start before the change it should see.
await new Promise((resolve) => setTimeout(resolve, 300));

const { createTicket } = await gql<CreateTicketMutation>(
  "mutation($title: String!) { createTicket(input: { title: $title }) { id ticketNo } }",
  { title: "Printer jams (TypeScript)" },
);
console.log("created ticket", createTicket.ticketNo);
const { processInstances } = await gql<InstanceOfQuery>(
  "query($recordId: ID!) { processInstances(filter: { recordId: { equals: $recordId } }) { nodes { id version } } }",
  { recordId: createTicket.id },
);
const instance = processInstances.nodes[0];
const { fireTransition } = await gql<FireMutation>(
  'mutation($id: ID!, $version: Int!) { fireTransition(instanceId: $id, transition: "start", expectedVersion: $version) { state } }',
  { id: instance.id, version: instance.version },
);
console.log("ticket is now", fireTransition.state);

const timeout = setTimeout(() => {
  console.error("no event within 10 s");
  process.exit(1);
}, 10_000);
for await (const result of changes) {
  const change = result.data?.changes;
  if (change?.recordId === instance.id && change.action === "transitioned") {
    console.log("received event", change.sequence, change.action);
    break;
  }
}
clearTimeout(timeout);
await ws.dispose();
console.log("typescript example: ok");
