//! The record life cycle, the same for every module: create, read, update with a version,
//! delete to the recycle bin, restore, history, paging edges, and who may write.

use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

/// (module enum, create mutation, its input, the by-id query field, update mutation + input)
fn modules() -> Vec<(
    &'static str,
    &'static str,
    Value,
    &'static str,
    &'static str,
    Value,
)> {
    vec![
        (
            "CONTACTS",
            "createContact",
            json!({ "lastName": "Lim" }),
            "contact",
            "updateContact",
            json!({ "lastName": "Lim Jr." }),
        ),
        (
            "LEADS",
            "createLead",
            json!({ "lastName": "Tan", "company": "CV Tan" }),
            "lead",
            "updateLead",
            json!({ "company": "PT Tan" }),
        ),
        (
            "OPPORTUNITIES",
            "createOpportunity",
            json!({ "name": "Deal" }),
            "opportunity",
            "updateOpportunity",
            json!({ "name": "Bigger deal" }),
        ),
        (
            "TICKETS",
            "createTicket",
            json!({ "title": "Broken" }),
            "ticket",
            "updateTicket",
            json!({ "title": "Still broken" }),
        ),
        (
            "FAQ",
            "createFaq",
            json!({ "question": "Why?", "answer": "Because." }),
            "faq",
            "updateFaq",
            json!({ "answer": "Because, really." }),
        ),
        (
            "NOTES",
            "createNote",
            json!({ "title": "Memo", "body": "Text" }),
            "note",
            "updateNote",
            json!({ "body": "Edited" }),
        ),
        (
            "CALENDAR",
            "createEvent",
            json!({ "subject": "Meet", "startAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z" }),
            "event",
            "updateEvent",
            json!({ "subject": "Meet again" }),
        ),
        (
            "CALENDAR",
            "createTask",
            json!({ "subject": "Do it" }),
            "task",
            "updateTask",
            json!({ "subject": "Do it now" }),
        ),
    ]
}

fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_module_creates_updates_deletes_restores_and_records_history() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for (module, create, input, read, update, changes) in modules() {
        let input_type = format!("Create{}Input", pascal(read));
        let created = server
            .gql(
                Some(&acme.token),
                &format!(
                    "mutation($input: {input_type}!) {{ {create}(input: $input) {{ id version }} }}"
                ),
                json!({ "input": input }),
            )
            .await;
        let id = created["data"][create]["id"].clone();
        assert!(id.is_string(), "{module} {create}: {created}");

        let mut update_input = changes.clone();
        update_input["version"] = json!(1);
        let update_type = format!("Update{}Input", pascal(read));
        let updated = server
            .gql(
                Some(&acme.token),
                &format!("mutation($id: ID!, $input: {update_type}!) {{ {update}(id: $id, input: $input) {{ version }} }}"),
                json!({ "id": id, "input": update_input }),
            )
            .await;
        assert_eq!(updated["data"][update]["version"], 2, "{update}: {updated}");
        let stale = server
            .gql(
                Some(&acme.token),
                &format!("mutation($id: ID!, $input: {update_type}!) {{ {update}(id: $id, input: $input) {{ version }} }}"),
                json!({ "id": id, "input": update_input }),
            )
            .await;
        assert_eq!(error_code(&stale), "CONFLICT", "{update}");

        let name = pascal(read);
        let deleted = server
            .gql(
                Some(&acme.token),
                &format!("mutation($id: ID!) {{ delete{name}(id: $id) }}"),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(deleted["data"][format!("delete{name}")], true, "{deleted}");
        let gone = server
            .gql(
                Some(&acme.token),
                &format!("query($id: ID!) {{ {read}(id: $id) {{ id }} }}"),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&gone), "NOT_FOUND", "{read} after delete");
        let restored = server
            .gql(
                Some(&acme.token),
                &format!("mutation($id: ID!) {{ restore{name}(id: $id) {{ version }} }}"),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            restored["data"][format!("restore{name}")]["version"],
            4,
            "{restored}"
        );

        let history = server
            .gql(
                Some(&acme.token),
                "query($id: ID!) { history(recordId: $id) { action } }",
                json!({ "id": id }),
            )
            .await;
        let actions: Vec<&str> = history["data"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["created", "updated", "deleted", "restored"],
            "{module} {read}"
        );
    }
}

#[tokio::test]
async fn viewers_write_no_module() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    for (module, create, input, read, _, _) in modules() {
        let input_type = format!("Create{}Input", pascal(read));
        let response = server
            .gql(
                Some(&viewer),
                &format!("mutation($input: {input_type}!) {{ {create}(input: $input) {{ id }} }}"),
                json!({ "input": input }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "FORBIDDEN",
            "{module} {create}: {response}"
        );
    }
}

#[tokio::test]
async fn paging_handles_empty_lists_last_pages_and_the_cap() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    const PAGE: &str = "query($first: Int, $after: String) { accounts(first: $first, after: $after, orderBy: { field: NAME }) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { name } } }";
    let empty = server
        .gql(Some(&acme.token), PAGE, json!({ "first": 10 }))
        .await;
    assert_eq!(
        empty["data"]["accounts"],
        json!({ "totalCount": 0, "pageInfo": { "hasNextPage": false, "hasPreviousPage": false, "endCursor": null }, "nodes": [] })
    );
    for name in ["Cedar", "Alder", "Birch"] {
        server
            .gql(
                Some(&acme.token),
                "mutation($n: String!) { createAccount(input: { name: $n }) { id } }",
                json!({ "n": name }),
            )
            .await;
    }
    let first = server
        .gql(Some(&acme.token), PAGE, json!({ "first": 2 }))
        .await;
    assert_eq!(
        first["data"]["accounts"]["nodes"],
        json!([{ "name": "Alder" }, { "name": "Birch" }])
    );
    let cursor = first["data"]["accounts"]["pageInfo"]["endCursor"].clone();
    let last = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "first": 2, "after": cursor }),
        )
        .await;
    assert_eq!(
        last["data"]["accounts"]["nodes"],
        json!([{ "name": "Cedar" }])
    );
    assert_eq!(last["data"]["accounts"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        last["data"]["accounts"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let past_end = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "first": 2, "after": last["data"]["accounts"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(past_end["data"]["accounts"]["nodes"], json!([]));
    let over = server
        .gql(Some(&acme.token), PAGE, json!({ "first": 101 }))
        .await;
    assert_eq!(error_code(&over), "BAD_USER_INPUT");
    assert_eq!(error_field(&over), "first");
}
