use serde_json::json;

use crate::common::{TestServer, error_code, error_field};

const CREATE_NOTE: &str = "mutation($input: CreateNoteInput!) { createNote(input: $input) { id title relatedModule version owner { email } } }";
const ADD_COMMENT: &str = "mutation($m: Module!, $r: ID!, $b: String!, $reply: ID) { addComment(module: $m, recordId: $r, body: $b, replyTo: $reply) { id body replyTo author { email } } }";

async fn account(server: &TestServer, token: &str) -> serde_json::Value {
    server
        .gql(
            Some(token),
            "mutation { createAccount(input: { name: \"PT Maju\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone()
}

#[tokio::test]
async fn notes_attach_to_records_and_only_their_author_or_an_admin_edits_them() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sam) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let (_, sid) = server.user(&acme, "sid@acme.example.com", &["SALES"]).await;
    let account = account(&server, &acme.token).await;

    let note = server
        .gql(Some(&sam), CREATE_NOTE, json!({ "input": { "title": "Visit", "body": "Met the buyer.", "relatedModule": "ACCOUNTS", "relatedId": account } }))
        .await;
    let note = &note["data"]["createNote"];
    assert_eq!(note["relatedModule"], "ACCOUNTS", "{note}");
    assert_eq!(note["owner"]["email"], "sam@acme.example.com");

    const EDIT: &str = "mutation($id: ID!, $v: Int!) { updateNote(id: $id, input: { version: $v, body: \"Edited\" }) { body version } }";
    let by_sid = server
        .gql(Some(&sid), EDIT, json!({ "id": note["id"], "v": 1 }))
        .await;
    assert_eq!(error_code(&by_sid), "FORBIDDEN");
    let by_admin = server
        .gql(Some(&acme.token), EDIT, json!({ "id": note["id"], "v": 1 }))
        .await;
    assert_eq!(
        by_admin["data"]["updateNote"],
        json!({ "body": "Edited", "version": 2 })
    );

    let view = server
        .gql(Some(&sid), "query($id: ID!) { account(id: $id) { notes { title body } } notes(relatedModule: ACCOUNTS, relatedId: $id) { totalCount } }", json!({ "id": account }))
        .await;
    assert_eq!(
        view["data"]["account"]["notes"],
        json!([{ "title": "Visit", "body": "Edited" }])
    );
    assert_eq!(view["data"]["notes"]["totalCount"], 1);

    for (input, code, field) in [
        (
            json!({ "title": "x", "body": "y", "relatedModule": "ACCOUNTS" }),
            "BAD_USER_INPUT",
            "relatedId",
        ),
        (
            json!({ "title": "x", "body": "y", "relatedModule": "CONTACTS", "relatedId": account }),
            "NOT_FOUND",
            "relatedId",
        ),
        (
            json!({ "title": " ", "body": "y", "relatedModule": "ACCOUNTS", "relatedId": account }),
            "BAD_USER_INPUT",
            "title",
        ),
    ] {
        let response = server
            .gql(Some(&sam), CREATE_NOTE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&response), code, "{response}");
        assert_eq!(error_field(&response), field);
    }
}

#[tokio::test]
async fn managers_announce_and_everyone_reads_announcements() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let (_, manager) = server
        .user(&acme, "mia@acme.example.com", &["MANAGER"])
        .await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    let input = json!({ "input": { "title": "Office closed Friday", "body": "Public holiday." } });
    assert_eq!(
        error_code(&server.gql(Some(&sales), CREATE_NOTE, input.clone()).await),
        "FORBIDDEN"
    );
    let made = server.gql(Some(&manager), CREATE_NOTE, input).await;
    assert_eq!(
        made["data"]["createNote"]["relatedModule"],
        serde_json::Value::Null,
        "{made}"
    );
    let read = server
        .gql(
            Some(&viewer),
            "{ announcements { nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["announcements"]["nodes"],
        json!([{ "title": "Office closed Friday" }])
    );
}

#[tokio::test]
async fn comment_threads_hang_off_records() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sam) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let account = account(&server, &acme.token).await;
    let other = account_other(&server, &acme.token).await;

    let first = server
        .gql(
            Some(&sam),
            ADD_COMMENT,
            json!({ "m": "ACCOUNTS", "r": account, "b": "Shall we call them?" }),
        )
        .await;
    let first_id = first["data"]["addComment"]["id"].clone();
    let reply = server
        .gql(
            Some(&acme.token),
            ADD_COMMENT,
            json!({ "m": "ACCOUNTS", "r": account, "b": "Yes, Monday.", "reply": first_id }),
        )
        .await;
    assert_eq!(reply["data"]["addComment"]["replyTo"], first_id, "{reply}");
    let elsewhere = server
        .gql(
            Some(&sam),
            ADD_COMMENT,
            json!({ "m": "ACCOUNTS", "r": other, "b": "x", "reply": first_id }),
        )
        .await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND");
    assert_eq!(error_field(&elsewhere), "replyTo");

    let thread = server
        .gql(
            Some(&sam),
            "query($id: ID!) { account(id: $id) { comments { body author { email } } } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(
        thread["data"]["account"]["comments"],
        json!([
            { "body": "Shall we call them?", "author": { "email": "sam@acme.example.com" } },
            { "body": "Yes, Monday.", "author": { "email": "admin@acme.example.com" } },
        ])
    );
    let reply_id = reply["data"]["addComment"]["id"].clone();
    let not_author = server
        .gql(
            Some(&sam),
            "mutation($id: ID!) { deleteComment(id: $id) }",
            json!({ "id": reply_id }),
        )
        .await;
    assert_eq!(error_code(&not_author), "FORBIDDEN");
    let own = server
        .gql(
            Some(&sam),
            "mutation($id: ID!) { deleteComment(id: $id) }",
            json!({ "id": first_id }),
        )
        .await;
    assert_eq!(own["data"]["deleteComment"], true);
}

async fn account_other(server: &TestServer, token: &str) -> serde_json::Value {
    server
        .gql(
            Some(token),
            "mutation { createAccount(input: { name: \"Other\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone()
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_notes_and_comments() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let account = account(&server, &a.token).await;
    let note = server
        .gql(Some(&a.token), CREATE_NOTE, json!({ "input": { "title": "Secret", "body": "s", "relatedModule": "ACCOUNTS", "relatedId": account } }))
        .await["data"]["createNote"]["id"]
        .clone();
    let comment = server
        .gql(
            Some(&a.token),
            ADD_COMMENT,
            json!({ "m": "ACCOUNTS", "r": account, "b": "secret" }),
        )
        .await["data"]["addComment"]["id"]
        .clone();
    server
        .gql(
            Some(&a.token),
            CREATE_NOTE,
            json!({ "input": { "title": "A announcement", "body": "only A" } }),
        )
        .await;

    for (query, variables) in [
        (
            "query($id: ID!) { note(id: $id) { id } }",
            json!({ "id": note }),
        ),
        (
            "mutation($id: ID!) { updateNote(id: $id, input: { version: 1, body: \"x\" }) { id } }",
            json!({ "id": note }),
        ),
        (
            "mutation($id: ID!) { deleteNote(id: $id) }",
            json!({ "id": note }),
        ),
        (
            "mutation($id: ID!) { deleteComment(id: $id) }",
            json!({ "id": comment }),
        ),
        (
            "mutation($id: ID!) { addComment(module: ACCOUNTS, recordId: $id, body: \"spy\") { id } }",
            json!({ "id": account }),
        ),
        (
            "mutation($id: ID!) { createNote(input: { title: \"spy\", body: \"x\", relatedModule: ACCOUNTS, relatedId: $id }) { id } }",
            json!({ "id": account }),
        ),
    ] {
        let response = server.gql(Some(&b.token), query, variables).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    let lists = server
        .gql(
            Some(&b.token),
            "query($id: ID!) { comments(module: ACCOUNTS, recordId: $id) { id } notes(relatedModule: ACCOUNTS, relatedId: $id) { totalCount } announcements { totalCount } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(
        lists["data"],
        json!({ "comments": [], "notes": { "totalCount": 0 }, "announcements": { "totalCount": 0 } })
    );
}
