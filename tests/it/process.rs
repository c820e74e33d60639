use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::ws::WsClient;
use crate::common::{Tenant, TestServer, error_code, error_field};

const PUBLISH: &str = "mutation($key: String!, $body: JSON!) { publishProcessDefinition(key: $key, name: \"Ticket lifecycle\", body: $body) {
    definition { key version } problems { path message } } }";
const START: &str = "mutation($key: String!, $m: Module, $r: ID) { startProcess(key: $key, recordModule: $m, recordId: $r) {
    id state status version definitionVersion availableTransitions { name to requires } } }";
const FIRE: &str = "mutation($id: ID!, $t: String!, $input: JSON, $v: Int!) { fireTransition(instanceId: $id, transition: $t, input: $input, expectedVersion: $v) {
    state status version variables } }";

fn lifecycle() -> Value {
    json!({
        "states": [
            { "name": "Open", "initial": true },
            { "name": "In Progress" },
            { "name": "Closed", "final": true }
        ],
        "transitions": [
            { "name": "start", "from": ["Open"], "to": "In Progress", "roles": ["support"] },
            { "name": "close", "from": ["In Progress"], "to": "Closed", "requires": ["resolution"],
              "guard": "size(input.resolution) >= 5 && record.priority != 'Urgent'",
              "guardMessage": "urgent tickets are closed by a manager, with a real resolution",
              "setVariables": { "resolution": "input.resolution", "closedBy": "user.id" } }
        ]
    })
}

async fn publish(server: &TestServer, tenant: &Tenant) {
    let published = server
        .gql(
            Some(&tenant.token),
            PUBLISH,
            json!({ "key": "tickets", "body": lifecycle() }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );
}

async fn ticket(server: &TestServer, token: &str, priority: &str) -> Value {
    server
        .gql(Some(token), "mutation($p: String!) { createTicket(input: { title: \"Printer\", priority: $p }) { id } }", json!({ "p": priority }))
        .await["data"]["createTicket"]["id"]
        .clone()
}

#[tokio::test]
async fn publishing_reports_every_problem_and_versions_definitions() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let broken = json!({
        "states": [{ "name": "A", "initial": true }, { "name": "B" }, { "name": "C", "final": true }],
        "transitions": [{ "name": "go", "from": ["A"], "to": "Nowhere", "guard": "secret > 1" }]
    });
    let response = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "tickets", "body": broken }),
        )
        .await;
    let payload = &response["data"]["publishProcessDefinition"];
    assert_eq!(payload["definition"], Value::Null);
    let paths: Vec<&str> = payload["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for expected in [
        "transitions[0].to",
        "transitions[0].guard",
        "states[1]",
        "states[2]",
    ] {
        assert!(paths.contains(&expected), "{expected} missing: {payload}");
    }
    let none = server
        .gql(
            Some(&acme.token),
            "{ processDefinitions { key } }",
            json!({}),
        )
        .await;
    // Only the built-in templates every tenant starts with.
    assert_eq!(
        none["data"]["processDefinitions"],
        json!([{ "key": "lead-qualification" }, { "key": "opportunity-pipeline" }, { "key": "order-to-cash-invoice" }, { "key": "order-to-cash-order" }, { "key": "order-to-cash-quote" }, { "key": "payroll-run" }, { "key": "procure-to-pay" }, { "key": "ticket-lifecycle" }])
    );

    for version in [1, 2] {
        let ok = server
            .gql(
                Some(&acme.token),
                PUBLISH,
                json!({ "key": "tickets", "body": lifecycle() }),
            )
            .await;
        assert_eq!(
            ok["data"]["publishProcessDefinition"]["definition"],
            json!({ "key": "tickets", "version": version })
        );
    }
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let refused = server
        .gql(
            Some(&sales),
            PUBLISH,
            json!({ "key": "tickets", "body": lifecycle() }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

#[tokio::test]
async fn transitions_check_roles_inputs_and_guards_and_record_every_step() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    publish(&server, &acme).await;
    let record = ticket(&server, &support, "High").await;
    let started = server
        .gql(
            Some(&support),
            START,
            json!({ "key": "tickets", "m": "TICKETS", "r": record }),
        )
        .await;
    let instance = &started["data"]["startProcess"];
    assert_eq!(instance["state"], "Open", "{started}");
    assert_eq!(
        instance["availableTransitions"],
        json!([{ "name": "start", "to": "In Progress", "requires": [] }])
    );
    let id = instance["id"].clone();

    let by_sales = server
        .gql(
            Some(&sales),
            FIRE,
            json!({ "id": id, "t": "start", "v": 1 }),
        )
        .await;
    assert_eq!(error_code(&by_sales), "FORBIDDEN");
    let wrong_state = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "close", "v": 1 }),
        )
        .await;
    assert_eq!(error_field(&wrong_state), "transition");
    let moved = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "start", "v": 1 }),
        )
        .await;
    assert_eq!(
        moved["data"]["fireTransition"]["state"], "In Progress",
        "{moved}"
    );

    let missing = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "close", "v": 2 }),
        )
        .await;
    assert_eq!(error_field(&missing), "input.resolution");
    let guarded = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "close", "v": 2, "input": { "resolution": "ok" } }),
        )
        .await;
    assert_eq!(error_code(&guarded), "BAD_USER_INPUT");
    assert!(
        guarded["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("urgent tickets are closed by a manager"),
        "{guarded}"
    );
    let stale = server.gql(Some(&support), FIRE, json!({ "id": id, "t": "close", "v": 1, "input": { "resolution": "Replaced the roller" } })).await;
    assert_eq!(error_code(&stale), "CONFLICT");

    let closed = server
        .gql(Some(&support), FIRE, json!({ "id": id, "t": "close", "v": 2, "input": { "resolution": "Replaced the roller" } }))
        .await;
    let closed = &closed["data"]["fireTransition"];
    assert_eq!(closed["state"], "Closed");
    assert_eq!(closed["status"], "completed");
    assert_eq!(closed["variables"]["resolution"], "Replaced the roller");
    // Completed: nothing leaves Closed in this definition.
    let again = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "close", "v": 3, "input": { "resolution": "x" } }),
        )
        .await;
    assert_eq!(error_field(&again), "transition");

    let history = server
        .gql(Some(&acme.token), "query($id: ID!) { processInstance(id: $id) { steps { transition fromState toState actor { email } } } }", json!({ "id": id }))
        .await;
    assert_eq!(
        history["data"]["processInstance"]["steps"],
        json!([
            { "transition": "start", "fromState": null, "toState": "Open", "actor": { "email": "sue@acme.example.com" } },
            { "transition": "start", "fromState": "Open", "toState": "In Progress", "actor": { "email": "sue@acme.example.com" } },
            { "transition": "close", "fromState": "In Progress", "toState": "Closed", "actor": { "email": "sue@acme.example.com" } },
        ])
    );
}

#[tokio::test]
async fn of_twenty_concurrent_fires_exactly_one_wins() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    publish(&server, &acme).await;
    let started = server
        .gql(Some(&acme.token), START, json!({ "key": "tickets" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();
    let fires = (0..20).map(|_| {
        let (server, token, id) = (&server, acme.token.clone(), id.clone());
        async move {
            server
                .gql(
                    Some(&token),
                    FIRE,
                    json!({ "id": id, "t": "start", "v": 1 }),
                )
                .await
        }
    });
    let results = futures_util::future::join_all(fires).await;
    let winners = results
        .iter()
        .filter(|r| r["data"]["fireTransition"].is_object())
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((winners, conflicts), (1, 19), "{results:?}");
    let steps = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { processInstance(id: $id) { version steps { transition } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(steps["data"]["processInstance"]["version"], 2);
    assert_eq!(
        steps["data"]["processInstance"]["steps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let metrics = server
        .gql(Some(&acme.token), "{ processMetrics(key: \"tickets\") { instances active completed slaBreaches states { state active stays } } }", json!({}))
        .await;
    assert_eq!(
        metrics["data"]["processMetrics"],
        json!({ "instances": 1, "active": 1, "completed": 0, "slaBreaches": 0, "states": [
            { "state": "In Progress", "active": 1, "stays": 1 },
            { "state": "Open", "active": 0, "stays": 1 }
        ] })
    );
}

#[tokio::test]
async fn a_new_version_leaves_running_instances_alone_and_subscribers_see_each_step() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    publish(&server, &acme).await;
    let started = server
        .gql(Some(&acme.token), START, json!({ "key": "tickets" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();
    // Version 2 renames the first transition.
    let mut v2 = lifecycle();
    v2["transitions"][0]["name"] = json!("begin");
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "tickets", "body": v2 }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["definition"]["version"],
        2
    );

    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    client
        .send(json!({ "type": "subscribe", "id": "p", "payload": {
            "query": "subscription($id: ID!) { processInstanceChanged(id: $id) { state version definitionVersion } }",
            "variables": { "id": id } } }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fired = server
        .gql(
            Some(&acme.token),
            FIRE,
            json!({ "id": id, "t": "start", "v": 1 }),
        )
        .await;
    assert_eq!(
        fired["data"]["fireTransition"]["state"], "In Progress",
        "the instance still runs version 1: {fired}"
    );
    let message = client.next_json().await;
    assert_eq!(
        message["payload"]["data"]["processInstanceChanged"],
        json!({ "state": "In Progress", "version": 2, "definitionVersion": 1 })
    );
    // processEvents replays the definition's history from the log, then follows it.
    let mut events = WsClient::connect_authenticated(&server, &acme.token).await;
    events
        .subscribe("e", "subscription { processEvents(definitionKey: \"tickets\", afterSequence: 0) { sequence action } }")
        .await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(events.next_json().await["payload"]["data"]["processEvents"].clone());
    }
    assert_eq!(
        seen,
        [
            json!({ "sequence": 1, "action": "started" }),
            json!({ "sequence": 2, "action": "transitioned" })
        ]
    );
    let fresh = server
        .gql(Some(&acme.token), START, json!({ "key": "tickets" }))
        .await;
    assert_eq!(fresh["data"]["startProcess"]["definitionVersion"], 2);
    assert_eq!(
        fresh["data"]["startProcess"]["availableTransitions"][0]["name"],
        "begin"
    );
    assert_eq!(
        events.next_json().await["payload"]["data"]["processEvents"],
        json!({ "sequence": 3, "action": "started" })
    );
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_processes() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    publish(&server, &a).await;
    let started = server
        .gql(Some(&a.token), START, json!({ "key": "tickets" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();
    let a_ticket = ticket(&server, &a.token, "Low").await;

    let listing = server
        .gql(
            Some(&b.token),
            "{ processDefinitions { key } processInstances { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listing["data"],
        json!({
            "processDefinitions": [{ "key": "lead-qualification" }, { "key": "opportunity-pipeline" }, { "key": "order-to-cash-invoice" }, { "key": "order-to-cash-order" }, { "key": "order-to-cash-quote" }, { "key": "payroll-run" }, { "key": "procure-to-pay" }, { "key": "ticket-lifecycle" }],
            "processInstances": { "totalCount": 0 }
        })
    );
    for (query, variables, code) in [
        (
            "query($id: ID!) { processInstance(id: $id) { id } }",
            json!({ "id": id }),
            "NOT_FOUND",
        ),
        (FIRE, json!({ "id": id, "t": "start", "v": 1 }), "NOT_FOUND"),
        (
            "mutation($id: ID!) { cancelProcess(instanceId: $id, expectedVersion: 1) { id } }",
            json!({ "id": id }),
            "NOT_FOUND",
        ),
        (START, json!({ "key": "tickets" }), "NOT_FOUND"),
        (
            "{ processDefinition(key: \"tickets\") { key } }",
            json!({}),
            "NOT_FOUND",
        ),
    ] {
        let response = server.gql(Some(&b.token), query, variables).await;
        assert_eq!(error_code(&response), code, "{query}: {response}");
    }
    publish(&server, &b).await;
    let about_a = server
        .gql(
            Some(&b.token),
            START,
            json!({ "key": "tickets", "m": "TICKETS", "r": a_ticket }),
        )
        .await;
    assert_eq!(error_code(&about_a), "NOT_FOUND");
    assert_eq!(error_field(&about_a), "recordId");
    // A's process events never reach B's subscriber, not even from the start of the log.
    let mut client = WsClient::connect_authenticated(&server, &b.token).await;
    client
        .subscribe("e", "subscription { processEvents(definitionKey: \"tickets\", afterSequence: 0) { sequence } }")
        .await;
    assert_eq!(client.receive(Duration::from_millis(300)).await, None);
    let metrics = server
        .gql(
            Some(&b.token),
            "{ processMetrics(key: \"tickets\") { instances } }",
            json!({}),
        )
        .await;
    assert_eq!(metrics["data"]["processMetrics"]["instances"], 0);
}

async fn instance(server: &TestServer, token: &str, id: &Value) -> Value {
    server
        .gql(Some(token), "query($id: ID!) { processInstance(id: $id) { state slaBreached version steps { transition actor { email } } } }", json!({ "id": id }))
        .await["data"]["processInstance"]
        .clone()
}

#[tokio::test]
async fn timers_fire_transitions_and_mark_sla_breaches_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "states": [
            { "name": "Waiting", "initial": true },
            { "name": "Escalated" },
            { "name": "Done", "final": true }
        ],
        "transitions": [
            { "name": "escalate", "from": ["Waiting"], "to": "Escalated", "roles": ["manager"] },
            { "name": "finish", "from": ["Waiting", "Escalated"], "to": "Done" }
        ],
        "timers": [
            { "state": "Waiting", "after": "PT1S", "transition": "escalate" },
            { "state": "Escalated", "after": "PT1S", "slaBreach": true }
        ]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "escalation", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );

    // On PostgreSQL a second replica's worker competes for the same timers: each must still
    // act exactly once.
    let _replica = if server.on_postgres() {
        Some(server.replica().await)
    } else {
        None
    };

    // Left alone: escalated by its timer, then in breach of its SLA.
    let started = server
        .gql(Some(&acme.token), START, json!({ "key": "escalation" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();
    let mut seen = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        seen = instance(&server, &acme.token, &id).await;
        if seen["slaBreached"] == true {
            break;
        }
    }
    assert_eq!(seen["state"], "Escalated", "{seen}");
    assert_eq!(seen["slaBreached"], true, "{seen}");
    assert_eq!(seen["version"], 3, "each timer acted once: {seen}");
    let steps: Vec<&str> = seen["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["transition"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["start", "escalate", "sla breach"]);
    assert_eq!(
        seen["steps"][1]["actor"],
        Value::Null,
        "the engine, not a user, fired it"
    );
    let metrics = server
        .gql(
            Some(&acme.token),
            "{ processMetrics(key: \"escalation\") { slaBreaches active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        metrics["data"]["processMetrics"],
        json!({ "slaBreaches": 1, "active": 1 })
    );
    let breached = server
        .gql(
            Some(&acme.token),
            "{ processInstances(filter: { slaBreached: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(breached["data"]["processInstances"]["totalCount"], 1);

    // Finished in time: its timers stop with it.
    let quick = server
        .gql(Some(&acme.token), START, json!({ "key": "escalation" }))
        .await;
    let quick_id = quick["data"]["startProcess"]["id"].clone();
    let done = server
        .gql(
            Some(&acme.token),
            FIRE,
            json!({ "id": quick_id, "t": "finish", "v": 1 }),
        )
        .await;
    assert_eq!(
        done["data"]["fireTransition"]["status"], "completed",
        "{done}"
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after = instance(&server, &acme.token, &quick_id).await;
    assert_eq!(
        (after["state"].clone(), after["version"].clone()),
        (json!("Done"), json!(2)),
        "{after}"
    );
}

#[tokio::test]
async fn a_bound_process_starts_with_each_record_and_owns_its_status() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let mut body = json!({
        "binding": "tickets",
        "states": [
            { "name": "Open", "initial": true },
            { "name": "In Progress" },
            { "name": "Closed", "final": true }
        ],
        "transitions": [
            { "name": "start", "from": ["Open"], "to": "In Progress" },
            { "name": "close", "from": ["In Progress"], "to": "Closed" }
        ]
    });
    body["states"][1]["name"] = json!("Thinking");
    body["transitions"][0]["to"] = json!("Thinking");
    body["transitions"][1]["from"] = json!(["Thinking"]);
    let wrong = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "tickets", "body": body }),
        )
        .await;
    assert_eq!(
        wrong["data"]["publishProcessDefinition"]["problems"],
        json!([{ "path": "states[1].name", "message": "not a value of the ticketStatus picklist" }])
    );
    let mut unbindable = lifecycle();
    unbindable["binding"] = json!("accounts");
    let refused = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "x", "body": unbindable }),
        )
        .await;
    assert_eq!(
        refused["data"]["publishProcessDefinition"]["problems"][0]["path"],
        "binding"
    );

    body["states"][1]["name"] = json!("In Progress");
    body["transitions"][0]["to"] = json!("In Progress");
    body["transitions"][1]["from"] = json!(["In Progress"]);
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "tickets", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );

    let record = ticket(&server, &support, "High").await;
    let running = server
        .gql(Some(&support), "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes { id state version } } }", json!({ "r": record }))
        .await;
    let instance = running["data"]["processInstances"]["nodes"][0].clone();
    assert_eq!(instance["state"], "Open", "{running}");

    let direct = server
        .gql(Some(&support), "mutation($id: ID!) { updateTicket(id: $id, input: { version: 1, status: \"Closed\" }) { status } }", json!({ "id": record }))
        .await;
    assert_eq!(error_field(&direct), "status");
    assert!(
        direct["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("start"),
        "{direct}"
    );

    for (transition, version) in [("start", 1), ("close", 2)] {
        let fired = server
            .gql(
                Some(&support),
                FIRE,
                json!({ "id": instance["id"], "t": transition, "v": version }),
            )
            .await;
        assert!(fired["data"]["fireTransition"].is_object(), "{fired}");
    }
    let view = server
        .gql(Some(&support), "query($id: ID!) { ticket(id: $id) { status resolvedAt history { action changes { field old new } } } }", json!({ "id": record }))
        .await;
    let ticket = &view["data"]["ticket"];
    assert_eq!(ticket["status"], "Closed", "{view}");
    assert!(ticket["resolvedAt"].is_string());
    let status_changes: Vec<Value> = ticket["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["changes"].as_array().unwrap().clone())
        .filter(|c| c["field"] == "status" && c["old"].is_string())
        .map(|c| json!([c["old"], c["new"]]))
        .collect();
    assert_eq!(
        status_changes,
        [
            json!(["Open", "In Progress"]),
            json!(["In Progress", "Closed"])
        ]
    );
}

#[tokio::test]
async fn transitions_create_tasks_start_processes_and_emit_events() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (sue, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    server
        .user(&acme, "mia@acme.example.com", &["MANAGER"])
        .await;
    let follow_up = json!({
        "states": [{ "name": "Pending", "initial": true }, { "name": "Done", "final": true }],
        "transitions": [{ "name": "done", "from": ["Pending"], "to": "Done" }]
    });
    server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "follow-up", "body": follow_up }),
        )
        .await;
    let main = json!({
        "states": [{ "name": "New", "initial": true }, { "name": "Escalated", "final": true }],
        "transitions": [{
            "name": "escalate", "from": ["New"], "to": "Escalated",
            "actions": [
                { "createTask": { "subject": "'Call back about ' + record.title", "dueInDays": 1, "assignee": "input.assignee" } },
                { "startProcess": { "key": "follow-up" } },
                { "emit": { "event": "ticket_escalated" } },
                { "createNote": { "title": "'Escalated'", "body": "'Escalated by ' + user.id" } },
                { "setField": { "field": "priority", "value": "'Urgent'" } },
                { "createTask": { "subject": "'Review escalation'", "assigneeRole": "manager" } }
            ]
        }]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "escalate", "body": main }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );
    let record = ticket(&server, &support, "High").await;
    let started = server
        .gql(
            Some(&support),
            START,
            json!({ "key": "escalate", "m": "TICKETS", "r": record }),
        )
        .await;
    let id = started["data"]["startProcess"]["id"].clone();

    let mut events = WsClient::connect_authenticated(&server, &acme.token).await;
    events
        .subscribe(
            "e",
            "subscription { processEvents(definitionKey: \"escalate\") { action event } }",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fired = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": id, "t": "escalate", "v": 1, "input": { "assignee": sue } }),
        )
        .await;
    assert_eq!(
        fired["data"]["fireTransition"]["state"], "Escalated",
        "{fired}"
    );

    let tasks = server
        .gql(
            Some(&support),
            "query($r: ID!) { ticket(id: $r) { tasks { subject owner { email } dueDate } } }",
            json!({ "r": record }),
        )
        .await;
    // Undated tasks sort first on SQLite and last on PostgreSQL: find them by subject.
    let find = |subject: &str| {
        tasks["data"]["ticket"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == subject)
            .cloned()
            .unwrap_or_else(|| panic!("no task {subject}: {tasks}"))
    };
    let task = &find("Call back about Printer");
    assert_eq!(task["subject"], "Call back about Printer", "{tasks}");
    assert_eq!(
        find("Review escalation")["owner"]["email"],
        "mia@acme.example.com",
        "the role's longest-standing member"
    );
    assert_eq!(task["owner"]["email"], "sue@acme.example.com");
    assert!(task["dueDate"].is_string());
    let priority = server
        .gql(
            Some(&support),
            "query($r: ID!) { ticket(id: $r) { priority } }",
            json!({ "r": record }),
        )
        .await;
    assert_eq!(
        priority["data"]["ticket"]["priority"], "Urgent",
        "{priority}"
    );
    let notes = server
        .gql(
            Some(&support),
            "query($r: ID!) { ticket(id: $r) { notes { title body } } }",
            json!({ "r": record }),
        )
        .await;
    assert_eq!(
        notes["data"]["ticket"]["notes"],
        json!([{ "title": "Escalated", "body": format!("Escalated by {}", sue.as_str()) }]),
        "{notes}"
    );
    let follow = server
        .gql(Some(&support), "query($r: ID!) { processInstances(filter: { recordId: { equals: $r }, definitionKey: { equals: \"follow-up\" } }) { nodes { state } } }", json!({ "r": record }))
        .await;
    assert_eq!(
        follow["data"]["processInstances"]["nodes"],
        json!([{ "state": "Pending" }]),
        "{follow}"
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(events.next_json().await["payload"]["data"]["processEvents"].clone());
    }
    assert!(
        seen.contains(&json!({ "action": "emitted", "event": "ticket_escalated" })),
        "{seen:?}"
    );

    // A failing action undoes the whole transition.
    let started = server
        .gql(
            Some(&support),
            START,
            json!({ "key": "escalate", "m": "TICKETS", "r": record }),
        )
        .await;
    let second = started["data"]["startProcess"]["id"].clone();
    let bad = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": second, "t": "escalate", "v": 1, "input": { "assignee": "nobody" } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
    let still = server
        .gql(
            Some(&support),
            "query($id: ID!) { processInstance(id: $id) { state } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(still["data"]["processInstance"]["state"], "New");
    let count = server
        .gql(
            Some(&support),
            "query($r: ID!) { ticket(id: $r) { tasks { subject } } }",
            json!({ "r": record }),
        )
        .await;
    assert_eq!(
        count["data"]["ticket"]["tasks"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_timer_can_fall_due_at_a_date_read_from_the_record() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "states": [{ "name": "Open", "initial": true }, { "name": "Won", "final": true }],
        "transitions": [{ "name": "win", "from": ["Open"], "to": "Won" }],
        "timers": [{ "state": "Open", "at": "record.expectedCloseDate", "slaBreach": true }]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "deal-watch", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let next_year = (chrono::Utc::now() + chrono::Duration::days(365))
        .date_naive()
        .to_string();
    let mut ids = Vec::new();
    for date in [&yesterday, &next_year] {
        let deal = server
            .gql(Some(&acme.token), "mutation($d: NaiveDate!) { createOpportunity(input: { name: \"Deal\", expectedCloseDate: $d }) { id } }", json!({ "d": date }))
            .await["data"]["createOpportunity"]["id"]
            .clone();
        let started = server
            .gql(
                Some(&acme.token),
                START,
                json!({ "key": "deal-watch", "m": "OPPORTUNITIES", "r": deal }),
            )
            .await;
        ids.push(started["data"]["startProcess"]["id"].clone());
    }
    let mut overdue = Value::Null;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        overdue = instance(&server, &acme.token, &ids[0]).await;
        if overdue["slaBreached"] == true {
            break;
        }
    }
    assert_eq!(
        overdue["slaBreached"], true,
        "the deal past its close date is overdue: {overdue}"
    );
    assert_eq!(
        instance(&server, &acme.token, &ids[1]).await["slaBreached"],
        false
    );
}

#[tokio::test]
async fn converting_a_lead_completes_its_qualification_process() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "binding": "leads",
        "states": [
            { "name": "Not Contacted", "initial": true },
            { "name": "Contacted" },
            { "name": "Qualified", "final": true },
            { "name": "Lost Lead", "final": true }
        ],
        "transitions": [
            { "name": "contact", "from": ["Not Contacted"], "to": "Contacted" },
            { "name": "qualify", "from": ["Contacted"], "to": "Qualified" },
            { "name": "lose", "from": ["Not Contacted", "Contacted"], "to": "Lost Lead" }
        ],
        "timers": [{ "state": "Not Contacted", "after": "P2D", "slaBreach": true }]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "lead-qualification", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );
    let lead = server
        .gql(Some(&acme.token), "mutation { createLead(input: { lastName: \"Tan\", company: \"CV Tan\" }) { id leadStatus } }", json!({}))
        .await;
    let lead = &lead["data"]["createLead"];
    assert_eq!(lead["leadStatus"], "Not Contacted", "{lead}");
    let converted = server
        .gql(Some(&acme.token), "mutation($id: ID!) { convertLead(id: $id, input: { version: 1 }) { lead { converted } } }", json!({ "id": lead["id"] }))
        .await;
    assert_eq!(
        converted["data"]["convertLead"]["lead"]["converted"], true,
        "{converted}"
    );
    let process = server
        .gql(Some(&acme.token), "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes { status steps { transition } } } }", json!({ "r": lead["id"] }))
        .await;
    assert_eq!(
        process["data"]["processInstances"]["nodes"],
        json!([{ "status": "completed", "steps": [{ "transition": "start" }, { "transition": "complete" }] }])
    );
}

#[tokio::test]
async fn every_tenant_gets_the_built_in_processes_bound_to_its_records() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let record = ticket(&server, &support, "Normal").await;
    let running = server
        .gql(Some(&support), "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes { id definitionKey state availableTransitions { name } } } }", json!({ "r": record }))
        .await;
    let instance = running["data"]["processInstances"]["nodes"][0].clone();
    assert_eq!(instance["definitionKey"], "ticket-lifecycle", "{running}");
    let root = server
        .gql(
            Some(&support),
            "query($id: ID!) { availableTransitions(instanceId: $id) { name } }",
            json!({ "id": instance["id"] }),
        )
        .await;
    assert_eq!(
        root["data"]["availableTransitions"],
        json!([{ "name": "start" }, { "name": "close" }])
    );
    assert_eq!(
        instance["availableTransitions"],
        json!([{ "name": "start" }, { "name": "close" }])
    );
    let given = server
        .gql(
            Some(&support),
            "mutation { createTicket(input: { title: \"x\", status: \"Closed\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&given), "status");
    let closed = server
        .gql(Some(&support), FIRE, json!({ "id": instance["id"], "t": "close", "v": 1, "input": { "resolution": "Fixed" } }))
        .await;
    assert_eq!(
        closed["data"]["fireTransition"]["variables"]["resolution"], "Fixed",
        "{closed}"
    );
    let status = server
        .gql(
            Some(&support),
            "query($id: ID!) { ticket(id: $id) { status } }",
            json!({ "id": record }),
        )
        .await;
    assert_eq!(status["data"]["ticket"]["status"], "Closed");
    let reopened = server
        .gql(
            Some(&support),
            FIRE,
            json!({ "id": instance["id"], "t": "reopen", "v": 2 }),
        )
        .await;
    assert_eq!(
        reopened["data"]["fireTransition"]["status"], "active",
        "{reopened}"
    );
    let ticket_now = server
        .gql(
            Some(&support),
            "query($id: ID!) { ticket(id: $id) { status resolvedAt } }",
            json!({ "id": record }),
        )
        .await;
    assert_eq!(
        ticket_now["data"]["ticket"],
        json!({ "status": "In Progress", "resolvedAt": null })
    );

    // A tenant that predates the templates gets them from `bpaas migrate`.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let removed = entity::process::definition::Entity::delete_many()
        .filter(entity::process::definition::Column::TenantId.eq(acme.id))
        .filter(entity::process::definition::Column::Key.eq("lead-qualification"))
        .exec(&server.app.db)
        .await
        .unwrap();
    assert_eq!(removed.rows_affected, 1);
    entity::platform::tenant::Entity::update_many()
        .col_expr(
            entity::platform::tenant::Column::BuiltInTemplates,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(entity::platform::tenant::Column::Id.eq(acme.id))
        .exec(&server.app.db)
        .await
        .unwrap();
    let output =
        crate::common::run_bpaas(&["migrate", "--database-url", server.database_url()]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let keys = server
        .gql(
            Some(&acme.token),
            "{ processDefinitions { key } }",
            json!({}),
        )
        .await;
    assert!(
        keys["data"]["processDefinitions"]
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "lead-qualification" })),
        "{keys}"
    );
}

#[tokio::test]
async fn timers_survive_a_restart() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "states": [{ "name": "Waiting", "initial": true }, { "name": "Late", "final": true }],
        "transitions": [{ "name": "expire", "from": ["Waiting"], "to": "Late" }],
        "timers": [{ "state": "Waiting", "after": "PT2S", "transition": "expire" }]
    });
    server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "deadline", "body": body }),
        )
        .await;
    let started = server
        .gql(Some(&acme.token), START, json!({ "key": "deadline" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();

    // The first server stops before the timer is due; a new one on the same database fires it.
    server.app.shutdown.send_replace(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let restarted = server.replica().await;
    let mut state = Value::Null;
    for _ in 0..24 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        state = restarted
            .gql(
                Some(&acme.token),
                "query($id: ID!) { processInstance(id: $id) { state status } }",
                json!({ "id": id }),
            )
            .await["data"]["processInstance"]
            .clone();
        if state["state"] == "Late" {
            break;
        }
    }
    assert_eq!(state, json!({ "state": "Late", "status": "completed" }));
}

#[tokio::test]
async fn process_subscriptions_need_a_token_and_stay_in_the_tenant() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    publish(&server, &a).await;
    let started = server
        .gql(Some(&a.token), START, json!({ "key": "tickets" }))
        .await;
    let id = started["data"]["startProcess"]["id"].clone();

    let mut anonymous = WsClient::connect(&server).await;
    anonymous.init(None).await;
    assert_eq!(anonymous.close_code().await, Some(4403));

    let mut spy = WsClient::connect_authenticated(&server, &b.token).await;
    spy.send(json!({ "type": "subscribe", "id": "s", "payload": {
        "query": "subscription($id: ID!) { processInstanceChanged(id: $id) { state } }",
        "variables": { "id": id } } }))
        .await;
    let refused = spy.next_json().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
}

/// The state group of a diagram: its texts, and the texts of its badges by class.
fn diagram_state<'a>(
    document: &'a roxmltree::Document<'a>,
    state: &str,
) -> roxmltree::Node<'a, 'a> {
    document
        .descendants()
        .find(|n| n.attribute("data-state") == Some(state))
        .unwrap_or_else(|| panic!("no state {state} in the diagram"))
}

fn badge(state: roxmltree::Node, class: &str) -> Option<String> {
    state
        .children()
        .find(|n| n.attribute("class") == Some(class))
        .and_then(|g| g.descendants().find(|n| n.has_tag_name("text")))
        .and_then(|t| t.text())
        .map(str::to_owned)
}

#[tokio::test]
async fn process_diagram_draws_states_transitions_timers_and_live_instances() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let body = json!({
        "states": [
            { "name": "Waiting", "initial": true },
            { "name": "Escalated" },
            { "name": "Done", "final": true }
        ],
        "transitions": [
            { "name": "escalate", "from": ["Waiting"], "to": "Escalated" },
            { "name": "finish", "from": ["Waiting", "Escalated"], "to": "Done" },
            { "name": "retry", "from": ["Escalated"], "to": "Waiting" }
        ],
        "timers": [
            { "state": "Waiting", "after": "PT1S", "transition": "escalate" },
            { "state": "Escalated", "after": "PT1S", "slaBreach": true }
        ]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "escalation", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([])
    );
    let mut ids = Vec::new();
    for _ in 0..3 {
        let started = server
            .gql(Some(&acme.token), START, json!({ "key": "escalation" }))
            .await;
        ids.push(started["data"]["startProcess"]["id"].clone());
    }
    let finished = server
        .gql(
            Some(&acme.token),
            FIRE,
            json!({ "id": ids[0], "t": "finish", "v": 1 }),
        )
        .await;
    assert_eq!(
        finished["data"]["fireTransition"]["state"], "Done",
        "{finished}"
    );
    // The two left alone are escalated by their timers, then breach the SLA.
    for id in &ids[1..] {
        let mut seen = Value::Null;
        for _ in 0..40 {
            seen = instance(&server, &acme.token, id).await;
            if seen["slaBreached"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(seen["slaBreached"], true, "{seen}");
    }

    let response = server
        .http()
        .get(server.url("/processes/escalation.svg"))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    let svg = response.text().await.unwrap();
    let document = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let texts: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for expected in [
        "Ticket lifecycle (v1)",
        "escalate",
        "finish",
        "retry",
        "⏱ PT1S → escalate",
        "⏱ SLA PT1S",
    ] {
        assert!(texts.contains(&expected), "{expected} not in {texts:?}");
    }
    // Arrows: one per pair of states a transition joins.
    let arrows = document
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("marker-end").is_some())
        .count();
    assert_eq!(arrows, 4);
    // Live instances: two escalated, both in breach; none waiting; the finished one not live.
    let escalated = diagram_state(&document, "Escalated");
    assert_eq!(badge(escalated, "active").as_deref(), Some("2"));
    assert_eq!(badge(escalated, "breached").as_deref(), Some("!2"));
    assert_eq!(badge(diagram_state(&document, "Waiting"), "active"), None);
    let done = diagram_state(&document, "Done");
    assert_eq!(badge(done, "active"), None);
    // A final state is double-framed; Done sits below Escalated, which sits below Waiting.
    assert_eq!(
        done.children().filter(|n| n.has_tag_name("rect")).count(),
        2
    );
    let top = |state: &str| -> f64 {
        let rect = diagram_state(&document, state)
            .children()
            .find(|n| n.has_tag_name("rect"))
            .unwrap();
        rect.attribute("y").unwrap().parse().unwrap()
    };
    assert!(top("Waiting") < top("Escalated") && top("Escalated") < top("Done"));

    // Another version, another tenant, a role that may not read processes.
    let status = |response: reqwest::Response| response.status().as_u16();
    let get = |path: &str, token: &str| {
        server
            .http()
            .get(server.url(path))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(
        status(
            get("/processes/escalation.svg?version=1", &acme.token)
                .await
                .unwrap()
        ),
        200
    );
    assert_eq!(
        status(
            get("/processes/escalation.svg?version=9", &acme.token)
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            get("/processes/escalation.svg", &globex.token)
                .await
                .unwrap()
        ),
        404
    );
    server
        .gql(
            Some(&acme.token),
            "mutation { setPermission(role: VIEWER, module: PROCESSES, read: false, write: false) { read } }",
            json!({}),
        )
        .await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    assert_eq!(
        status(get("/processes/escalation.svg", &viewer).await.unwrap()),
        403
    );
}

#[tokio::test]
async fn a_transition_reads_its_definition_once_and_the_record_and_settings_only_to_evaluate() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "states": [
            { "name": "Open", "initial": true }, { "name": "Waiting" }, { "name": "Done", "final": true }
        ],
        "transitions": [
            { "name": "wait", "from": ["Open"], "to": "Waiting" },
            { "name": "finish", "from": ["Open"], "to": "Done" },
            { "name": "resume", "from": ["Waiting"], "to": "Open", "guard": "record.title != ''" }
        ]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "waiting", "body": body }),
        )
        .await;
    assert_eq!(
        published["data"]["publishProcessDefinition"]["problems"],
        json!([]),
        "{published}"
    );
    let ticket = ticket(&server, &acme.token, "Low").await;
    // Not asking for availableTransitions, which would read the definition before the fires.
    let started = server
        .gql(
            Some(&acme.token),
            "mutation($key: String!, $m: Module, $r: ID) { startProcess(key: $key, recordModule: $m, recordId: $r) { id } }",
            json!({ "key": "waiting", "m": "TICKETS", "r": ticket }),
        )
        .await;
    let id = started["data"]["startProcess"]["id"].clone();
    let fire = |transition: &'static str, version: i64| {
        let (server, token, id) = (&server, acme.token.clone(), id.clone());
        async move {
            let before = server.app.statements.load(Ordering::SeqCst);
            let variables = json!({ "id": id, "t": transition, "v": version });
            let fired = server.gql(Some(&token), FIRE, variables).await;
            (server.app.statements.load(Ordering::SeqCst) - before, fired)
        }
    };
    // The first transition reads the definition; later ones find it parsed.
    let (first, _) = fire("wait", 1).await;
    fire("resume", 2).await;
    let (plain, waited) = fire("wait", 3).await;
    assert_eq!(
        waited["data"]["fireTransition"]["state"], "Waiting",
        "{waited}"
    );
    assert_eq!(waited["data"]["fireTransition"]["version"], 4, "{waited}");
    assert_eq!(plain, first - 1, "the definition is read once");
    let (guarded, resumed) = fire("resume", 4).await;
    assert_eq!(
        resumed["data"]["fireTransition"]["state"], "Open",
        "{resumed}"
    );
    assert_eq!(resumed["data"]["fireTransition"]["version"], 5, "{resumed}");
    assert_eq!(
        guarded,
        plain + 2,
        "only the guarded transition reads the record and the settings"
    );
}
