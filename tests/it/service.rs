use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

const CREATE_TICKET: &str = "mutation($input: CreateTicketInput!) { createTicket(input: $input) {
    id ticketNo title status priority openedAt resolvedAt version contact { fullName } account { name } } }";
const UPDATE_TICKET: &str =
    "mutation($id: ID!, $input: UpdateTicketInput!) { updateTicket(id: $id, input: $input) {
    status resolution resolvedAt version } }";

async fn create_ticket(server: &TestServer, token: &str, input: Value) -> Value {
    let response = server
        .gql(Some(token), CREATE_TICKET, json!({ "input": input }))
        .await;
    let ticket = response["data"]["createTicket"].clone();
    assert!(ticket.is_object(), "{response}");
    ticket
}

#[tokio::test]
async fn tickets_are_tracked_from_opening_to_resolution() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    // Statuses set by hand: without the built-in ticket process.
    server.unbind(&acme, "ticket-lifecycle").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"PT Maju\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    let contact = server
        .gql(Some(&acme.token), "mutation($a: ID!) { createContact(input: { lastName: \"Santoso\", accountId: $a }) { id } }", json!({ "a": account }))
        .await["data"]["createContact"]["id"]
        .clone();

    let ticket = create_ticket(
        &server,
        &support,
        json!({ "title": "Invoice printer jams", "priority": "High", "severity": "Major", "category": "Small Problem",
                "accountId": account, "contactId": contact, "product": "Printer X200" }),
    )
    .await;
    assert_eq!(ticket["ticketNo"], "TT-00001");
    assert_eq!(ticket["status"], "Open");
    assert_eq!(ticket["resolvedAt"], Value::Null);
    assert_eq!(ticket["contact"]["fullName"], "Santoso");
    assert_eq!(ticket["account"]["name"], "PT Maju");
    let id = ticket["id"].as_str().unwrap();

    let closed = server
        .gql(Some(&support), UPDATE_TICKET, json!({ "id": id, "input": { "version": 1, "status": "Closed", "resolution": "Replaced the roller" } }))
        .await;
    let closed = &closed["data"]["updateTicket"];
    assert_eq!(closed["status"], "Closed");
    assert!(closed["resolvedAt"].is_string(), "{closed}");

    let reopened = server
        .gql(
            Some(&support),
            UPDATE_TICKET,
            json!({ "id": id, "input": { "version": 2, "status": "In Progress" } }),
        )
        .await;
    assert_eq!(reopened["data"]["updateTicket"]["resolvedAt"], Value::Null);

    let view = server
        .gql(Some(&acme.token), "query($id: ID!) { contact(id: $id) { open: tickets(open: true) { title } all: tickets { title } } }", json!({ "id": contact }))
        .await;
    assert_eq!(
        view["data"]["contact"]["open"],
        json!([{ "title": "Invoice printer jams" }]),
        "{view}"
    );

    for (input, field) in [
        (json!({ "title": "" }), "title"),
        (json!({ "title": "x", "priority": "Whenever" }), "priority"),
        (json!({ "title": "x", "status": "Lost" }), "status"),
        (
            json!({ "title": "x", "contactId": uuid::Uuid::now_v7().to_string() }),
            "contactId",
        ),
    ] {
        let response = server
            .gql(Some(&support), CREATE_TICKET, json!({ "input": input }))
            .await;
        assert_eq!(error_field(&response), field, "{response}");
    }
    let open = server
        .gql(Some(&support), "{ tickets(filter: { open: true }) { totalCount } closed: tickets(filter: { open: false }) { totalCount } }", json!({}))
        .await;
    assert_eq!(open["data"]["tickets"]["totalCount"], 1);
    assert_eq!(open["data"]["closed"]["totalCount"], 0);
}

#[tokio::test]
async fn the_faq_is_written_by_support_and_read_by_everyone() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    const CREATE: &str = "mutation($input: CreateFaqInput!) { createFaq(input: $input) { id faqNo status category } }";
    let input = json!({ "question": "How do I reset my password?", "answer": "Use the link on the sign-in page.", "category": "General" });
    assert_eq!(
        error_code(
            &server
                .gql(Some(&sales), CREATE, json!({ "input": input }))
                .await
        ),
        "FORBIDDEN"
    );
    let created = server
        .gql(Some(&support), CREATE, json!({ "input": input }))
        .await;
    assert_eq!(created["data"]["createFaq"]["status"], "Draft", "{created}");
    assert_eq!(created["data"]["createFaq"]["faqNo"], "FAQ-00001");
    let id = created["data"]["createFaq"]["id"].clone();
    let published = server
        .gql(Some(&support), "mutation($id: ID!) { updateFaq(id: $id, input: { version: 1, status: \"Published\" }) { status } }", json!({ "id": id }))
        .await;
    assert_eq!(published["data"]["updateFaq"]["status"], "Published");
    let read = server
        .gql(
            Some(&sales),
            "{ faqs(filter: { status: { equals: \"Published\" } }) { nodes { question } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["faqs"]["nodes"],
        json!([{ "question": "How do I reset my password?" }])
    );
    let bad = server
        .gql(
            Some(&support),
            CREATE,
            json!({ "input": { "question": "Q?", "answer": " ", "status": "Draft" } }),
        )
        .await;
    assert_eq!(error_field(&bad), "answer");
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_tickets_and_faq() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let ticket = create_ticket(&server, &a.token, json!({ "title": "Secret complaint" })).await;
    let faq = server
        .gql(
            Some(&a.token),
            "mutation { createFaq(input: { question: \"Secret?\", answer: \"Yes\" }) { id } }",
            json!({}),
        )
        .await["data"]["createFaq"]["id"]
        .clone();
    for (query, id) in [
        ("query($id: ID!) { ticket(id: $id) { id } }", &ticket["id"]),
        ("query($id: ID!) { faq(id: $id) { id } }", &faq),
        (
            "mutation($id: ID!) { updateTicket(id: $id, input: { version: 1, status: \"Closed\" }) { id } }",
            &ticket["id"],
        ),
        (
            "mutation($id: ID!) { updateFaq(id: $id, input: { version: 1, answer: \"No\" }) { id } }",
            &faq,
        ),
        (
            "mutation($id: ID!) { deleteTicket(id: $id) }",
            &ticket["id"],
        ),
        ("mutation($id: ID!) { deleteFaq(id: $id) }", &faq),
    ] {
        let response = server.gql(Some(&b.token), query, json!({ "id": id })).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    let lists = server
        .gql(
            Some(&b.token),
            "{ tickets { totalCount } faqs { totalCount } search(text: \"secret\") { label } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists["data"],
        json!({ "tickets": { "totalCount": 0 }, "faqs": { "totalCount": 0 }, "search": [] })
    );
}
