use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

const CREATE_EVENT: &str = "mutation($input: CreateEventInput!) { createEvent(input: $input) {
    id subject eventType status recurrence version invitedUsers { email } invitedContacts { fullName } } }";
const CALENDAR: &str = "query($from: DateTime!, $to: DateTime!) { calendar(from: $from, to: $to) {
    start end allDay event { subject } task { subject } } }";

async fn create_event(server: &TestServer, token: &str, input: Value) -> Value {
    let response = server
        .gql(Some(token), CREATE_EVENT, json!({ "input": input }))
        .await;
    let event = response["data"]["createEvent"].clone();
    assert!(event.is_object(), "{response}");
    event
}

#[tokio::test]
async fn the_calendar_expands_recurring_events_and_shows_tasks_due() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let weekly = create_event(
        &server,
        &acme.token,
        json!({ "subject": "Sales stand-up", "startAt": "2026-11-02T09:00:00Z", "endAt": "2026-11-02T09:30:00Z",
                "recurrence": "FREQ=WEEKLY;COUNT=4" }),
    )
    .await;
    assert_eq!(weekly["eventType"], "Meeting");
    assert_eq!(weekly["status"], "Planned");
    create_event(
        &server,
        &acme.token,
        json!({ "subject": "Call PT Maju", "eventType": "Call", "startAt": "2026-11-12T14:00:00Z", "endAt": "2026-11-12T14:15:00Z" }),
    )
    .await;
    create_event(
        &server,
        &acme.token,
        json!({ "subject": "Last year", "startAt": "2025-11-12T14:00:00Z", "endAt": "2025-11-12T15:00:00Z" }),
    )
    .await;
    let task = server
        .gql(Some(&acme.token), "mutation { createTask(input: { subject: \"Send quote\", dueDate: \"2026-11-10\", priority: \"High\" }) { status } }", json!({}))
        .await;
    assert_eq!(
        task["data"]["createTask"]["status"], "Not Started",
        "{task}"
    );

    let view = server
        .gql(
            Some(&acme.token),
            CALENDAR,
            json!({ "from": "2026-11-08T00:00:00Z", "to": "2026-11-24T00:00:00Z" }),
        )
        .await;
    let items: Vec<(String, String)> = view["data"]["calendar"]
        .as_array()
        .unwrap_or_else(|| panic!("{view}"))
        .iter()
        .map(|i| {
            let what = i["event"]["subject"]
                .as_str()
                .or(i["task"]["subject"].as_str())
                .unwrap()
                .to_owned();
            (i["start"].as_str().unwrap().to_owned(), what)
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                "2026-11-09T09:00:00+00:00".to_owned(),
                "Sales stand-up".to_owned()
            ),
            (
                "2026-11-10T00:00:00+00:00".to_owned(),
                "Send quote".to_owned()
            ),
            (
                "2026-11-12T14:00:00+00:00".to_owned(),
                "Call PT Maju".to_owned()
            ),
            (
                "2026-11-16T09:00:00+00:00".to_owned(),
                "Sales stand-up".to_owned()
            ),
            (
                "2026-11-23T09:00:00+00:00".to_owned(),
                "Sales stand-up".to_owned()
            ),
        ],
        "{view}"
    );
    assert_eq!(
        view["data"]["calendar"][0]["end"],
        "2026-11-09T09:30:00+00:00"
    );

    // The series ends after four: nothing on the 30th.
    let later = server
        .gql(
            Some(&acme.token),
            CALENDAR,
            json!({ "from": "2026-11-25T00:00:00Z", "to": "2026-12-31T00:00:00Z" }),
        )
        .await;
    assert_eq!(later["data"]["calendar"], json!([]));

    let id = weekly["id"].clone();
    let single = server
        .gql(Some(&acme.token), "mutation($id: ID!) { updateEvent(id: $id, input: { version: 1, recurrence: null }) { recurrence } }", json!({ "id": id }))
        .await;
    assert_eq!(single["data"]["updateEvent"]["recurrence"], Value::Null);
}

#[tokio::test]
async fn events_invite_users_and_contacts_and_validate_their_input() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (sam, _) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let contact = server
        .gql(Some(&acme.token), "mutation { createContact(input: { firstName: \"Budi\", lastName: \"Santoso\" }) { id } }", json!({}))
        .await["data"]["createContact"]["id"]
        .clone();
    let event = create_event(
        &server,
        &acme.token,
        json!({ "subject": "Demo", "startAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z", "reminderMinutes": 15,
                "related": { "module": "CONTACTS", "id": contact },
                "invitees": { "users": [sam], "contacts": [contact] } }),
    )
    .await;
    assert_eq!(
        event["invitedUsers"],
        json!([{ "email": "sam@acme.example.com" }])
    );
    assert_eq!(
        event["invitedContacts"],
        json!([{ "fullName": "Budi Santoso" }])
    );

    let base = json!({ "subject": "x", "startAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z" });
    for (change, code, field) in [
        (
            json!({ "endAt": "2026-12-01T09:00:00Z" }),
            "BAD_USER_INPUT",
            "endAt",
        ),
        (
            json!({ "recurrence": "FREQ=SOMETIMES" }),
            "BAD_USER_INPUT",
            "recurrence",
        ),
        (
            json!({ "eventType": "Party" }),
            "BAD_USER_INPUT",
            "eventType",
        ),
        (
            json!({ "reminderMinutes": -5 }),
            "BAD_USER_INPUT",
            "reminderMinutes",
        ),
        (
            json!({ "invitees": { "contacts": [uuid::Uuid::now_v7().to_string()] } }),
            "NOT_FOUND",
            "invitees.contacts",
        ),
        (
            json!({ "related": { "module": "ACCOUNTS", "id": contact } }),
            "NOT_FOUND",
            "relatedId",
        ),
    ] {
        let mut input = base.clone();
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = server
            .gql(Some(&acme.token), CREATE_EVENT, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&response), code, "{field}: {response}");
        assert_eq!(error_field(&response), field);
    }
    let window = server
        .gql(
            Some(&acme.token),
            CALENDAR,
            json!({ "from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(error_field(&window), "to");
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_calendar() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let contact = server
        .gql(
            Some(&a.token),
            "mutation { createContact(input: { lastName: \"Secret\" }) { id } }",
            json!({}),
        )
        .await["data"]["createContact"]["id"]
        .clone();
    let event = create_event(
        &server,
        &a.token,
        json!({ "subject": "Secret", "startAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z", "recurrence": "FREQ=DAILY;COUNT=3" }),
    )
    .await;
    let task = server
        .gql(Some(&a.token), "mutation { createTask(input: { subject: \"Secret task\", dueDate: \"2026-12-02\" }) { id } }", json!({}))
        .await["data"]["createTask"]["id"]
        .clone();
    for (query, id) in [
        ("query($id: ID!) { event(id: $id) { id } }", &event["id"]),
        ("query($id: ID!) { task(id: $id) { id } }", &task),
        (
            "mutation($id: ID!) { updateEvent(id: $id, input: { version: 1, subject: \"x\" }) { id } }",
            &event["id"],
        ),
        (
            "mutation($id: ID!) { updateTask(id: $id, input: { version: 1, subject: \"x\" }) { id } }",
            &task,
        ),
        ("mutation($id: ID!) { deleteEvent(id: $id) }", &event["id"]),
    ] {
        let response = server.gql(Some(&b.token), query, json!({ "id": id })).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    let invite = server
        .gql(
            Some(&b.token),
            CREATE_EVENT,
            json!({ "input": { "subject": "Spy", "startAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z", "invitees": { "contacts": [contact] } } }),
        )
        .await;
    assert_eq!(error_code(&invite), "NOT_FOUND");
    let view = server
        .gql(
            Some(&b.token),
            CALENDAR,
            json!({ "from": "2026-11-30T00:00:00Z", "to": "2026-12-05T00:00:00Z" }),
        )
        .await;
    assert_eq!(view["data"]["calendar"], json!([]));
}
