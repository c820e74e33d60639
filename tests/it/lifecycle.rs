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

/// Purging a record takes along what hangs off it: its process (steps and timers with it),
/// notes and comments; an event or task about it stays, no longer about it.
#[tokio::test]
async fn a_purged_record_takes_its_process_notes_and_comments_along() {
    use entity::calendar::task;
    use entity::news::{comment, note};
    use entity::process::{instance, step};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let run = |query: &'static str, id: Value| {
        let server = &server;
        let token = acme.token.clone();
        async move {
            let done = server.gql(Some(&token), query, json!({ "id": id })).await;
            assert!(done["errors"].is_null(), "{done}");
            done
        }
    };
    let ticket = run(
        "mutation { createTicket(input: { title: \"Broken\" }) { id } }",
        Value::Null,
    )
    .await["data"]["createTicket"]["id"]
        .clone();
    run("mutation($id: ID!) { createNote(input: { title: \"n\", body: \"b\", relatedModule: TICKETS, relatedId: $id }) { id } }", ticket.clone()).await;
    run(
        "mutation($id: ID!) { addComment(module: TICKETS, recordId: $id, body: \"c\") { id } }",
        ticket.clone(),
    )
    .await;
    let task_id = run("mutation($id: ID!) { createTask(input: { subject: \"Call\", related: { module: TICKETS, id: $id } }) { id } }", ticket.clone())
        .await["data"]["createTask"]["id"]
        .clone();
    let id = uuid::Uuid::parse_str(ticket.as_str().unwrap()).unwrap();
    let db = &server.app.db;
    let hanging = || async {
        let instances: Vec<uuid::Uuid> = instance::Entity::find()
            .filter(instance::Column::RecordId.eq(id))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        let steps = step::Entity::find()
            .filter(step::Column::InstanceId.is_in(instances.clone()))
            .count(db)
            .await
            .unwrap();
        let notes = note::Entity::find()
            .filter(note::Column::RelatedId.eq(id))
            .count(db)
            .await
            .unwrap();
        let comments = comment::Entity::find()
            .filter(comment::Column::RelatedId.eq(id))
            .count(db)
            .await
            .unwrap();
        (instances.len(), steps > 0, notes, comments)
    };
    assert_eq!(hanging().await, (1, true, 1, 1));
    run(
        "mutation($id: ID!) { deleteTicket(id: $id) }",
        ticket.clone(),
    )
    .await;
    run(
        "mutation($id: ID!) { purgeTicket(id: $id) }",
        ticket.clone(),
    )
    .await;
    assert_eq!(hanging().await, (0, false, 0, 0));
    let task_id = uuid::Uuid::parse_str(task_id.as_str().unwrap()).unwrap();
    let kept = task::Entity::find_by_id(task_id)
        .one(db)
        .await
        .unwrap()
        .expect("the task stays");
    assert_eq!((kept.related_module, kept.related_id), (None, None));
}
