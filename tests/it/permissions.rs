//! Authorisation in one place: every relation field of every record type is checked against
//! the caller's right to read the module it leads to. The fields are found by introspection,
//! so a relation added later is covered (or the test asks for a way to reach its type).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::{Tenant, TestServer};

/// The module whose records a type holds, by the field that leads to it.
fn target_module(type_name: &str, field: &str) -> Option<&'static str> {
    Some(match type_name {
        "Account" => "ACCOUNTS",
        "Contact" => "CONTACTS",
        "Lead" => "LEADS",
        "Opportunity" => "OPPORTUNITIES",
        "Ticket" => "TICKETS",
        "Faq" => "FAQ",
        "Note" | "Comment" => "NOTES",
        "Event" | "Task" => "CALENDAR",
        "Product" => "PRODUCTS",
        "Service" => "SERVICES",
        "Vendor" => "VENDORS",
        "ProcessInstance" => "PROCESSES",
        "SalesDocument" => match field {
            "quote" => "QUOTES",
            "salesOrder" | "salesOrders" => "SALES_ORDERS",
            "invoices" => "INVOICES",
            _ => return None,
        },
        _ => return None,
    })
}

/// How to reach records of a type: queries (with `SEL` where the field goes), the JSON path
/// to the objects, and the module that must be readable to get there.
fn roots(
    type_name: &str,
    ids: &BTreeMap<&str, String>,
) -> Vec<(String, Vec<&'static str>, &'static str)> {
    let list = |field: &'static str, module: &'static str| {
        (
            format!("{{ {field}(first: 100) {{ nodes {{ SEL }} }} }}"),
            vec![field, "nodes"],
            module,
        )
    };
    let documents = |kind: &'static str, module: &'static str| {
        (
            format!("{{ salesDocuments(kind: {kind}) {{ nodes {{ SEL }} }} }}"),
            vec!["salesDocuments", "nodes"],
            module,
        )
    };
    match type_name {
        "Account" => vec![list("accounts", "ACCOUNTS")],
        "Contact" => vec![list("contacts", "CONTACTS")],
        "Lead" => vec![list("leads", "LEADS")],
        "Opportunity" => vec![list("opportunities", "OPPORTUNITIES")],
        "Ticket" => vec![list("tickets", "TICKETS")],
        "Product" => vec![list("products", "PRODUCTS")],
        "Event" => vec![(
            format!("{{ event(id: \"{}\") {{ SEL }} }}", ids["event"]),
            vec!["event"],
            "CALENDAR",
        )],
        "SalesDocument" => vec![
            documents("QUOTE", "QUOTES"),
            documents("SALES_ORDER", "SALES_ORDERS"),
            documents("INVOICE", "INVOICES"),
            documents("PURCHASE_ORDER", "PURCHASE_ORDERS"),
        ],
        "CalendarItem" => vec![(
            "{ calendar(from: \"2026-11-01T00:00:00Z\", to: \"2026-12-31T00:00:00Z\") { SEL } }"
                .into(),
            vec!["calendar"],
            "CALENDAR",
        )],
        "DocumentLine" => vec![(
            "{ salesDocuments(kind: QUOTE) { nodes { lines { SEL } } } }".into(),
            vec!["salesDocuments", "nodes", "lines"],
            "QUOTES",
        )],
        _ => Vec::new(),
    }
}

/// Every value at `path` (lists are walked), then the field's value in each.
fn values_at<'a>(data: &'a Value, path: &[&str], field: &str) -> Vec<&'a Value> {
    let mut current = vec![data];
    for step in path {
        current = current
            .into_iter()
            .flat_map(|v| match &v[*step] {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                Value::Null => Vec::new(),
                other => vec![other],
            })
            .collect();
    }
    current.into_iter().map(|v| &v[field]).collect()
}

fn has_data(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

async fn ok(server: &TestServer, tenant: &Tenant, query: &str, variables: Value) -> Value {
    let response = server.gql(Some(&tenant.token), query, variables).await;
    assert!(response["errors"].is_null(), "{query}: {response}");
    response["data"].clone()
}

async fn id_of(server: &TestServer, tenant: &Tenant, query: &str, variables: Value) -> String {
    let data = ok(server, tenant, query, variables).await;
    let (_, created) = data.as_object().unwrap().iter().next().unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// One of every relation: a parent account, contacts reporting to each other, a deal, a
/// ticket, notes, comments, an event with an invited contact, a task, a converted lead, and
/// a quote converted to an order and an invoice, plus a purchase order.
async fn company(server: &TestServer, t: &Tenant) -> BTreeMap<&'static str, String> {
    let mut ids = BTreeMap::new();
    let parent = id_of(
        server,
        t,
        "mutation { createAccount(input: { name: \"Holding\" }) { id } }",
        json!({}),
    )
    .await;
    let account = id_of(
        server,
        t,
        "mutation($p: ID) { createAccount(input: { name: \"Toko\", parentId: $p }) { id } }",
        json!({ "p": parent }),
    )
    .await;
    let boss = id_of(
        server,
        t,
        "mutation($a: ID) { createContact(input: { lastName: \"Boss\", accountId: $a }) { id } }",
        json!({ "a": account }),
    )
    .await;
    let contact = id_of(server, t, "mutation($a: ID, $r: ID) { createContact(input: { lastName: \"Rina\", accountId: $a, reportsToId: $r }) { id } }", json!({ "a": account, "r": boss })).await;
    let deal = id_of(server, t, "mutation($a: ID, $c: ID) { createOpportunity(input: { name: \"Deal\", accountId: $a, contactId: $c }) { id } }", json!({ "a": account, "c": contact })).await;
    let ticket = id_of(server, t, "mutation($a: ID, $c: ID) { createTicket(input: { title: \"Broken\", accountId: $a, contactId: $c }) { id } }", json!({ "a": account, "c": contact })).await;
    let lead = id_of(
        server,
        t,
        "mutation { createLead(input: { lastName: \"Hartono\", company: \"PT Sinar\" }) { id } }",
        json!({}),
    )
    .await;
    for (module, id) in [
        ("ACCOUNTS", &account),
        ("CONTACTS", &contact),
        ("OPPORTUNITIES", &deal),
        ("TICKETS", &ticket),
        ("LEADS", &lead),
    ] {
        ok(server, t, "mutation($m: Module, $id: ID) { createNote(input: { title: \"n\", body: \"b\", relatedModule: $m, relatedId: $id }) { id } }", json!({ "m": module, "id": id })).await;
        ok(server, t, "mutation($m: Module!, $id: ID!) { addComment(module: $m, recordId: $id, body: \"c\") { id } }", json!({ "m": module, "id": id })).await;
        ok(server, t, "mutation($m: Module!, $id: ID!) { createTask(input: { subject: \"t\", related: { module: $m, id: $id } }) { id } }", json!({ "m": module, "id": id })).await;
        let event = id_of(server, t, "mutation($m: Module!, $id: ID!, $c: ID!) { createEvent(input: { subject: \"e\", startAt: \"2026-12-01T09:00:00Z\", endAt: \"2026-12-01T10:00:00Z\", related: { module: $m, id: $id }, invitees: { contacts: [$c] } }) { id } }", json!({ "m": module, "id": id, "c": contact })).await;
        ids.insert("event", event);
    }
    ok(server, t, "mutation($id: ID!) { convertLead(id: $id, input: { version: 1, opportunity: { name: \"From lead\" } }) { lead { id } } }", json!({ "id": lead })).await;
    let vendor = id_of(
        server,
        t,
        "mutation { createVendor(input: { name: \"PT Pemasok\" }) { id } }",
        json!({}),
    )
    .await;
    let product = id_of(server, t, "mutation($v: ID) { createProduct(input: { code: \"P1\", name: \"Laptop\", unitPrice: \"100\", vendorId: $v }) { id } }", json!({ "v": vendor })).await;
    let service = id_of(
        server,
        t,
        "mutation { createService(input: { name: \"Setup\", unitPrice: \"50\" }) { id } }",
        json!({}),
    )
    .await;
    let quote = id_of(server, t, "mutation($input: SalesDocumentInput!) { createSalesDocument(kind: QUOTE, input: $input) { id } }", json!({ "input": {
        "subject": "Laptops", "accountId": account, "contactId": contact, "opportunityId": deal,
        "lines": [{ "productId": product, "quantity": "1" }, { "serviceId": service, "quantity": "1" }] } })).await;
    let order = id_of(
        server,
        t,
        "mutation($id: ID!) { convertSalesDocument(kind: QUOTE, id: $id, to: SALES_ORDER) { id } }",
        json!({ "id": quote }),
    )
    .await;
    ok(server, t, "mutation($id: ID!) { convertSalesDocument(kind: SALES_ORDER, id: $id, to: INVOICE) { id } }", json!({ "id": order })).await;
    ok(server, t, "mutation($input: SalesDocumentInput!) { createSalesDocument(kind: PURCHASE_ORDER, input: $input) { id } }", json!({ "input": {
        "subject": "Stock", "vendorId": vendor, "lines": [{ "productId": product, "quantity": "2" }] } })).await;
    ids
}

/// Every (type, field, target module) relation of the schema, by introspection.
async fn relations(server: &TestServer, tenant: &Tenant) -> Vec<(String, String, &'static str)> {
    let schema = ok(
        server,
        tenant,
        "{ __schema { types { name kind fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } }",
        json!({}),
    )
    .await;
    let named = |mut ty: &Value| loop {
        if ty["name"].is_string() {
            return ty["name"].as_str().unwrap().to_owned();
        }
        ty = &ty["ofType"];
    };
    let mut found = Vec::new();
    for ty in schema["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if ty["kind"] != "OBJECT"
            || name.starts_with("__")
            || name.ends_with("Connection")
            || name.ends_with("Edge")
            || name.ends_with("Payload")
            // What a mutation answers about the record it changed (a payment's invoice).
            || ["RecordedPayment", "SentQuote"].contains(&name)
            || [
                "Query",
                "QueryRoot",
                "Mutation",
                "MutationRoot",
                "Subscription",
                "SubscriptionRoot",
            ]
            .contains(&name)
        {
            continue;
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            let target = named(&field["type"]);
            if let Some(module) = target_module(&target, field_name) {
                found.push((name.to_owned(), field_name.to_owned(), module));
            }
        }
    }
    found
}

async fn set_read(server: &TestServer, admin: &Tenant, module: &str, read: bool) {
    let response = server
        .gql(
            Some(&admin.token),
            "mutation($m: Module!, $r: Boolean!) { setPermission(role: VIEWER, module: $m, read: $r, write: false) { read } }",
            json!({ "m": module, "r": read }),
        )
        .await;
    assert_eq!(
        response["data"]["setPermission"]["read"], read,
        "{response}"
    );
}

#[tokio::test]
async fn a_role_without_read_access_never_gets_a_related_record() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let ids = company(&server, &acme).await;
    let (_, viewer) = server
        .user(&acme, "vera@acme.example.com", &["VIEWER"])
        .await;
    let relations = relations(&server, &acme).await;
    assert!(relations.len() >= 30, "{relations:?}");
    let mut checked = BTreeSet::new();
    for (type_name, field, target) in &relations {
        let reach = roots(type_name, &ids);
        // Types reached only through others' relations (a comment's author) have no root;
        // every type that leads to a module must have one.
        assert!(
            !reach.is_empty(),
            "no way to reach {type_name} for its field {field}"
        );
        for (query, path, source) in reach {
            if source == *target {
                // Without read access to its own module the record itself is not readable.
                continue;
            }
            let query = query.replace("SEL", &format!("id: __typename {field} {{ __typename }}"));
            let allowed = server.gql(Some(&viewer), &query, json!({})).await;
            let data = &allowed["data"];
            if !values_at(data, &path, field).into_iter().any(has_data) {
                // This kind of document has no such relation (an order's vendor).
                continue;
            }
            assert!(allowed["errors"].is_null(), "{query}: {allowed}");
            set_read(&server, &acme, target, false).await;
            let denied = server.gql(Some(&viewer), &query, json!({})).await;
            set_read(&server, &acme, target, true).await;
            let leaked: Vec<&Value> = values_at(&denied["data"], &path, field)
                .into_iter()
                .filter(|v| has_data(v))
                .collect();
            assert!(
                leaked.is_empty(),
                "{type_name}.{field} leaked {target}: {denied}"
            );
            let forbidden = denied["errors"].as_array().is_some_and(|errors| {
                errors
                    .iter()
                    .any(|e| e["extensions"]["code"] == "FORBIDDEN")
            });
            assert!(forbidden, "{type_name}.{field} without {target}: {denied}");
            checked.insert((type_name.clone(), field.clone()));
        }
    }
    // Every relation to another module was exercised with data behind it.
    let expected: BTreeSet<(String, String)> = relations
        .iter()
        .filter(|(t, f, target)| {
            roots(t, &ids).iter().any(|(_, _, source)| source != target) && !f.is_empty()
        })
        .map(|(t, f, _)| (t.clone(), f.clone()))
        .collect();
    let missing: Vec<_> = expected.difference(&checked).collect();
    assert!(
        missing.is_empty(),
        "relations without data in the fixture: {missing:?}"
    );
    for (type_name, field) in [
        ("Lead", "convertedAccount"),
        ("Lead", "convertedContact"),
        ("Lead", "convertedOpportunity"),
        ("Event", "invitedContacts"),
        ("DocumentLine", "service"),
        ("SalesDocument", "invoices"),
    ] {
        assert!(
            checked.contains(&(type_name.to_owned(), field.to_owned())),
            "{type_name}.{field} not checked"
        );
    }
}

#[tokio::test]
async fn a_permission_change_on_one_replica_counts_on_the_others() {
    let server = TestServer::start().await;
    if !server.on_postgres() {
        // Replicas tell each other through PostgreSQL; CI runs this on PostgreSQL.
        return;
    }
    let replica = server.replica().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    const CONTACTS: &str = "{ contacts { totalCount } }";
    // The replica has read the tenant's matrix and keeps it.
    let before = replica.gql(Some(&sales), CONTACTS, json!({})).await;
    assert_eq!(before["data"]["contacts"]["totalCount"], 0, "{before}");
    let set = server
        .gql(
            Some(&acme.token),
            "mutation { setPermission(role: SALES, module: CONTACTS, read: false, write: false) { read } }",
            json!({}),
        )
        .await;
    assert_eq!(set["data"]["setPermission"]["read"], false, "{set}");
    // The notice reaches the replica within moments, well before its cache would expire.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let after = replica.gql(Some(&sales), CONTACTS, json!({})).await;
        if after["errors"][0]["extensions"]["code"] == "FORBIDDEN" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica still uses the old matrix: {after}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
