//! Sales documents: totals, conversions, payments, stock, the order-to-cash and procure-to-pay
//! processes, customer links, and tenancy.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::ws::{Received, WsClient};
use crate::common::{Tenant, TestServer, error_code, error_field};

const DOC: &str = "id number status subtotal discountTotal taxTotal shipping adjustment grandTotal paid balance version stockBooked
    lines { description quantity listPrice net tax total product { code } }";

fn create_query() -> String {
    format!(
        "mutation($k: DocumentKind!, $input: SalesDocumentInput!) {{ createSalesDocument(kind: $k, input: $input) {{ {DOC} }} }}"
    )
}

fn update_query() -> String {
    format!(
        "mutation($k: DocumentKind!, $id: ID!, $v: Int!, $input: SalesDocumentInput!) {{ updateSalesDocument(kind: $k, id: $id, version: $v, input: $input) {{ {DOC} }} }}"
    )
}

async fn ok(server: &TestServer, token: &str, query: &str, variables: Value, field: &str) -> Value {
    let response = server.gql(Some(token), query, variables).await;
    let data = response["data"][field].clone();
    assert!(!data.is_null(), "{field}: {response}");
    data
}

async fn account(server: &TestServer, tenant: &Tenant) -> Value {
    ok(
        server,
        &tenant.token,
        "mutation { createAccount(input: { name: \"Toko Maju\" }) { id } }",
        json!({}),
        "createAccount",
    )
    .await["id"]
        .clone()
}

async fn vendor(server: &TestServer, tenant: &Tenant) -> Value {
    ok(
        server,
        &tenant.token,
        "mutation { createVendor(input: { name: \"PT Pemasok\" }) { id } }",
        json!({}),
        "createVendor",
    )
    .await["id"]
        .clone()
}

async fn tax_class(server: &TestServer, tenant: &Tenant, name: &str, rate: &str) -> Value {
    ok(
        server,
        &tenant.token,
        "mutation($n: String!, $r: Decimal!) { createTaxClass(name: $n, rate: $r) { id } }",
        json!({ "n": name, "r": rate }),
        "createTaxClass",
    )
    .await["id"]
        .clone()
}

async fn product(
    server: &TestServer,
    tenant: &Tenant,
    code: &str,
    price: &str,
    stock: &str,
) -> Value {
    let id = ok(server, &tenant.token, "mutation($c: String!, $p: Decimal!) { createProduct(input: { code: $c, name: $c, unitPrice: $p }) { id } }", json!({ "c": code, "p": price }), "createProduct").await["id"].clone();
    if stock != "0" {
        ok(server, &tenant.token, "mutation($id: ID!, $q: Decimal!) { adjustStock(productId: $id, quantity: $q, reason: \"count\") { id } }", json!({ "id": id, "q": stock }), "adjustStock").await;
    }
    id
}

async fn stock(server: &TestServer, tenant: &Tenant, product: &Value) -> Value {
    let view = ok(server, &tenant.token, "query($id: ID!) { product(id: $id) { quantityInStock stockLedger { quantity cause reason } } }", json!({ "id": product }), "product").await;
    let ledger_sum: f64 = view["stockLedger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["quantity"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    let quantity: f64 = view["quantityInStock"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        quantity, ledger_sum,
        "quantityInStock equals the ledger sum: {view}"
    );
    view
}

async fn create(server: &TestServer, tenant: &Tenant, kind: &str, input: Value) -> Value {
    ok(
        server,
        &tenant.token,
        &create_query(),
        json!({ "k": kind, "input": input }),
        "createSalesDocument",
    )
    .await
}

async fn set_status(
    server: &TestServer,
    token: &str,
    kind: &str,
    doc: &Value,
    status: &str,
) -> Value {
    server
        .gql(Some(token), &update_query(), json!({ "k": kind, "id": doc["id"], "v": doc["version"], "input": { "status": status } }))
        .await
}

/// Fires a transition of the process bound to a record.
async fn fire(server: &TestServer, token: &str, record: &Value, transition: &str) -> Value {
    let found = ok(server, token, "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes { id version } } }", json!({ "r": record }), "processInstances").await;
    let instance = &found["nodes"][0];
    server
        .gql(Some(token), "mutation($id: ID!, $t: String!, $v: Int!) { fireTransition(instanceId: $id, transition: $t, expectedVersion: $v) { state } }", json!({ "id": instance["id"], "t": transition, "v": instance["version"] }))
        .await
}

#[tokio::test]
async fn totals_follow_the_rounding_rule_in_both_tax_modes() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let customer = account(&server, &acme).await;
    let vat = tax_class(&server, &acme, "VAT 11%", "11").await;
    let cheap = product(&server, &acme, "BOLT", "0.335", "0").await;
    let big = product(&server, &acme, "PLANT", "1234567890123.4567", "0").await;

    // Group mode: 3 × 0.335 = 1.005 → 1.01; 10 at 12.5% off → 8.75; subtotal 9.76; 10% off
    // → 0.98 (0.976); VAT on 8.78 → 0.97 (0.9658); + 5 shipping − 0.01.
    let quote = create(&server, &acme, "QUOTE", json!({
        "subject": "Bolts", "accountId": customer, "taxMode": "GROUP", "taxClassId": vat,
        "discountPercent": "10", "shipping": "5", "adjustment": "-0.01",
        "lines": [
            { "productId": cheap, "quantity": "3" },
            { "productId": cheap, "quantity": "1", "listPrice": "10", "discountPercent": "12.5" }
        ]
    })).await;
    assert_eq!(quote["number"], "QUO-00001");
    assert_eq!(quote["status"], "Draft");
    assert_eq!(quote["lines"][0]["net"], "1.01");
    assert_eq!(quote["lines"][1]["net"], "8.75");
    assert_eq!(
        [
            &quote["subtotal"],
            &quote["discountTotal"],
            &quote["taxTotal"],
            &quote["grandTotal"]
        ],
        [
            &json!("9.76"),
            &json!("0.98"),
            &json!("0.97"),
            &json!("14.74")
        ]
    );

    // Individual mode: each line taxed on its own, rounded, then summed; the document's
    // discount comes after tax.
    let individual = ok(&server, &acme.token, &update_query(), json!({ "k": "QUOTE", "id": quote["id"], "v": quote["version"], "input": {
        "taxMode": "INDIVIDUAL", "discountPercent": null, "discountAmount": "1",
        "lines": [
            { "productId": cheap, "quantity": "3", "taxClassId": vat },
            { "productId": cheap, "quantity": "1", "listPrice": "10", "discountAmount": "1.25", "taxClassId": vat }
        ]
    } }), "updateSalesDocument").await;
    assert_eq!(individual["lines"][0]["tax"], "0.11");
    assert_eq!(individual["lines"][1]["tax"], "0.96");
    assert_eq!(individual["lines"][1]["total"], "9.71");
    assert_eq!(
        [
            &individual["subtotal"],
            &individual["discountTotal"],
            &individual["taxTotal"],
            &individual["grandTotal"]
        ],
        [&json!("9.76"), &json!("1"), &json!("1.07"), &json!("14.82")]
    );
    assert_eq!(individual["version"], 2);

    // Amounts round-trip exactly on both databases.
    let exact = create(&server, &acme, "QUOTE", json!({
        "subject": "Plant", "accountId": customer,
        "lines": [{ "productId": big, "quantity": "1" }, { "productId": cheap, "quantity": "1", "listPrice": "0.1" }, { "productId": cheap, "quantity": "1", "listPrice": "0.2" }]
    })).await;
    assert_eq!(exact["lines"][0]["listPrice"], "1234567890123.4567");
    assert_eq!(exact["lines"][0]["net"], "1234567890123.46");
    assert_eq!(exact["grandTotal"], "1234567890123.76");

    // Bad input names its field and changes nothing.
    for (input, field) in [
        (
            json!({ "subject": "x", "accountId": customer, "discountPercent": "5", "discountAmount": "1" }),
            "discountAmount",
        ),
        (
            json!({ "subject": "x", "accountId": customer, "lines": [{ "quantity": "1" }] }),
            "lines.0.productId",
        ),
        (
            json!({ "subject": "x", "accountId": customer, "lines": [{ "productId": cheap, "quantity": "0" }] }),
            "lines.0.quantity",
        ),
        (
            json!({ "subject": "x", "accountId": customer, "lines": [{ "productId": cheap, "quantity": "1", "discountAmount": "5" }] }),
            "lines.0.discountAmount",
        ),
        (
            json!({ "subject": "x", "accountId": customer, "adjustment": "-1" }),
            "adjustment",
        ),
        (
            json!({ "subject": "x", "accountId": customer, "currencyCode": "EUR" }),
            "currencyCode",
        ),
        (json!({ "subject": "x" }), "accountId"),
    ] {
        let refused = server
            .gql(
                Some(&acme.token),
                &create_query(),
                json!({ "k": "QUOTE", "input": input }),
            )
            .await;
        assert_eq!(error_field(&refused), field, "{refused}");
    }
    let count = ok(
        &server,
        &acme.token,
        "{ salesDocuments(kind: QUOTE) { totalCount } }",
        json!({}),
        "salesDocuments",
    )
    .await;
    assert_eq!(count["totalCount"], 2);

    // A currency and a price book.
    ok(&server, &acme.token, "mutation { saveCurrency(code: \"eur\", name: \"Euro\", conversionRate: \"0.92\") { code } }", json!({}), "saveCurrency").await;
    let book = ok(&server, &acme.token, "mutation { createPriceBook(name: \"Wholesale\", currencyCode: \"EUR\") { id currencyCode } }", json!({}), "createPriceBook").await;
    assert_eq!(book["currencyCode"], "EUR");
    ok(&server, &acme.token, "mutation($b: ID!, $i: ID!) { setListPrice(priceBookId: $b, itemId: $i, listPrice: \"0.25\") }", json!({ "b": book["id"], "i": cheap }), "setListPrice").await;
    let priced = create(
        &server,
        &acme,
        "QUOTE",
        json!({
            "subject": "Wholesale bolts", "accountId": customer, "currencyCode": "EUR",
            "lines": [{ "productId": cheap, "quantity": "4", "priceBookId": book["id"] }]
        }),
    )
    .await;
    assert_eq!(priced["lines"][0]["listPrice"], "0.25");
    assert_eq!(priced["grandTotal"], "1");
}

#[tokio::test]
async fn conversions_copy_the_lines_and_keep_documents_linked_both_ways() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let customer = account(&server, &acme).await;
    let item = product(&server, &acme, "CHAIR", "150", "0").await;
    let quote = create(&server, &acme, "QUOTE", json!({
        "subject": "Chairs", "accountId": customer, "lines": [{ "productId": item, "quantity": "4" }]
    })).await;
    const CONVERT: &str = "mutation($k: DocumentKind!, $id: ID!, $to: DocumentKind!) { convertSalesDocument(kind: $k, id: $id, to: $to) { id number status grandTotal lines { quantity } quote { number } salesOrder { number } } }";
    let order = ok(
        &server,
        &acme.token,
        CONVERT,
        json!({ "k": "QUOTE", "id": quote["id"], "to": "SALES_ORDER" }),
        "convertSalesDocument",
    )
    .await;
    assert_eq!(order["number"], "SO-00001");
    assert_eq!(order["status"], "Created");
    assert_eq!(order["grandTotal"], "600");
    assert_eq!(order["lines"], json!([{ "quantity": "4" }]));
    assert_eq!(order["quote"]["number"], "QUO-00001");
    let demand = ok(
        &server,
        &acme.token,
        "query($id: ID!) { product(id: $id) { quantityInDemand } }",
        json!({ "id": item }),
        "product",
    )
    .await;
    assert_eq!(
        demand["quantityInDemand"], "4",
        "the open order asks for 4 chairs"
    );
    let invoice = ok(
        &server,
        &acme.token,
        CONVERT,
        json!({ "k": "SALES_ORDER", "id": order["id"], "to": "INVOICE" }),
        "convertSalesDocument",
    )
    .await;
    assert_eq!(invoice["number"], "INV-00001");
    assert_eq!(invoice["salesOrder"]["number"], "SO-00001");
    assert_eq!(invoice["quote"]["number"], "QUO-00001");
    ok(
        &server,
        &acme.token,
        CONVERT,
        json!({ "k": "QUOTE", "id": quote["id"], "to": "INVOICE" }),
        "convertSalesDocument",
    )
    .await;

    let links = ok(&server, &acme.token, "query($id: ID!) { salesDocument(kind: QUOTE, id: $id) { salesOrders { number invoices { number } } invoices { number } } }", json!({ "id": quote["id"] }), "salesDocument").await;
    assert_eq!(
        links,
        json!({
            "salesOrders": [{ "number": "SO-00001", "invoices": [{ "number": "INV-00001" }] }],
            "invoices": [{ "number": "INV-00001" }, { "number": "INV-00002" }]
        })
    );
    let backwards = server
        .gql(
            Some(&acme.token),
            CONVERT,
            json!({ "k": "INVOICE", "id": invoice["id"], "to": "QUOTE" }),
        )
        .await;
    assert_eq!(error_field(&backwards), "to");
}

#[tokio::test]
async fn payments_settle_invoices_and_never_overpay() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "order-to-cash-invoice").await;
    let customer = account(&server, &acme).await;
    let service = ok(
        &server,
        &acme.token,
        "mutation { createService(input: { name: \"Consulting\", unitPrice: \"100\" }) { id } }",
        json!({}),
        "createService",
    )
    .await["id"]
        .clone();
    let invoice = create(&server, &acme, "INVOICE", json!({
        "subject": "Advice", "accountId": customer, "lines": [{ "serviceId": service, "quantity": "2.5" }]
    })).await;
    assert_eq!(invoice["grandTotal"], "250");
    const PAY: &str = "mutation($id: ID!, $a: Decimal!) { recordPayment(invoiceId: $id, input: { amount: $a, method: \"transfer\" }) { payment { amount } invoice { status paid balance version } } }";
    let early = server
        .gql(
            Some(&acme.token),
            PAY,
            json!({ "id": invoice["id"], "a": "10" }),
        )
        .await;
    assert_eq!(error_field(&early), "invoiceId", "{early}");

    let issued = set_status(&server, &acme.token, "INVOICE", &invoice, "Issued").await;
    assert_eq!(
        issued["data"]["updateSalesDocument"]["status"], "Issued",
        "{issued}"
    );
    let part = ok(
        &server,
        &acme.token,
        PAY,
        json!({ "id": invoice["id"], "a": "100.5" }),
        "recordPayment",
    )
    .await;
    assert_eq!(
        part["invoice"],
        json!({ "status": "Partially Paid", "paid": "100.5", "balance": "149.5", "version": 4 })
    );
    let over = server
        .gql(
            Some(&acme.token),
            PAY,
            json!({ "id": invoice["id"], "a": "149.51" }),
        )
        .await;
    assert_eq!(error_field(&over), "amount");
    let zero = server
        .gql(
            Some(&acme.token),
            PAY,
            json!({ "id": invoice["id"], "a": "0" }),
        )
        .await;
    assert_eq!(error_field(&zero), "amount");
    let rest = ok(
        &server,
        &acme.token,
        PAY,
        json!({ "id": invoice["id"], "a": "149.5" }),
        "recordPayment",
    )
    .await;
    assert_eq!(rest["invoice"]["status"], "Paid");
    assert_eq!(rest["invoice"]["balance"], "0");

    let paid = ok(&server, &acme.token, "query($id: ID!) { salesDocument(kind: INVOICE, id: $id) { id version payments { amount method } } }", json!({ "id": invoice["id"] }), "salesDocument").await;
    assert_eq!(
        paid["payments"],
        json!([{ "amount": "100.5", "method": "transfer" }, { "amount": "149.5", "method": "transfer" }])
    );
    let cancel = set_status(&server, &acme.token, "INVOICE", &paid, "Cancelled").await;
    assert_eq!(error_field(&cancel), "status");
    let change = server.gql(Some(&acme.token), &update_query(), json!({ "k": "INVOICE", "id": paid["id"], "v": paid["version"], "input": { "shipping": "5" } })).await;
    assert_eq!(error_field(&change), "lines");

    // Purged for good, the invoice takes its lines and payments along.
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let id = uuid::Uuid::parse_str(invoice["id"].as_str().unwrap()).unwrap();
    let lines = || {
        entity::sales::document_line::Entity::find()
            .filter(entity::sales::document_line::Column::DocumentId.eq(id))
            .count(&server.app.db)
    };
    let payments = || {
        entity::sales::payment::Entity::find()
            .filter(entity::sales::payment::Column::InvoiceId.eq(id))
            .count(&server.app.db)
    };
    assert_eq!((lines().await.unwrap(), payments().await.unwrap()), (1, 2));
    for mutation in ["deleteSalesDocument", "purgeSalesDocument"] {
        let query = format!("mutation($id: ID!) {{ {mutation}(kind: INVOICE, id: $id) }}");
        ok(
            &server,
            &acme.token,
            &query,
            json!({ "id": invoice["id"] }),
            mutation,
        )
        .await;
    }
    assert_eq!((lines().await.unwrap(), payments().await.unwrap()), (0, 0));
}

#[tokio::test]
async fn stock_follows_invoices_and_purchase_orders() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "order-to-cash-invoice").await;
    server.unbind(&acme, "procure-to-pay").await;
    let customer = account(&server, &acme).await;
    let supplier = vendor(&server, &acme).await;
    let item = product(&server, &acme, "DESK", "300", "0").await;

    let order = create(&server, &acme, "PURCHASE_ORDER", json!({ "subject": "Desks", "vendorId": supplier, "lines": [{ "productId": item, "quantity": "5", "listPrice": "200" }] })).await;
    assert_eq!(order["number"], "PO-00001");
    let received = set_status(&server, &acme.token, "PURCHASE_ORDER", &order, "Received").await;
    assert_eq!(
        received["data"]["updateSalesDocument"]["stockBooked"], true,
        "{received}"
    );
    assert_eq!(stock(&server, &acme, &item).await["quantityInStock"], "5");

    let invoice = create(&server, &acme, "INVOICE", json!({ "subject": "Desks", "accountId": customer, "lines": [{ "productId": item, "quantity": "2" }] })).await;
    let issued = set_status(&server, &acme.token, "INVOICE", &invoice, "Issued").await;
    let issued = issued["data"]["updateSalesDocument"].clone();
    let view = stock(&server, &acme, &item).await;
    assert_eq!(view["quantityInStock"], "3");
    assert_eq!(
        view["stockLedger"][0],
        json!({ "quantity": "-2", "cause": "invoice_issued", "reason": "INV-00001" })
    );
    let cancelled = set_status(&server, &acme.token, "INVOICE", &issued, "Cancelled").await;
    assert_eq!(
        cancelled["data"]["updateSalesDocument"]["stockBooked"], false,
        "{cancelled}"
    );
    assert_eq!(
        stock(&server, &acme, &item).await["stockLedger"][0]["cause"],
        "invoice_cancelled"
    );

    // Not more than there is, unless the tenant allows negative stock.
    let big = create(&server, &acme, "INVOICE", json!({ "subject": "Many desks", "accountId": customer, "lines": [{ "productId": item, "quantity": "7" }] })).await;
    let refused = set_status(&server, &acme.token, "INVOICE", &big, "Issued").await;
    assert_eq!(error_field(&refused), "status", "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only 5 in stock")
    );
    let unchanged = ok(
        &server,
        &acme.token,
        "query($id: ID!) { salesDocument(kind: INVOICE, id: $id) { status stockBooked } }",
        json!({ "id": big["id"] }),
        "salesDocument",
    )
    .await;
    assert_eq!(
        unchanged,
        json!({ "status": "Created", "stockBooked": false })
    );
    ok(&server, &acme.token, "mutation { updateSalesSettings(input: { allowNegativeStock: true }) { allowNegativeStock } }", json!({}), "updateSalesSettings").await;
    let allowed = set_status(&server, &acme.token, "INVOICE", &big, "Issued").await;
    assert_eq!(
        allowed["data"]["updateSalesDocument"]["status"], "Issued",
        "{allowed}"
    );
    assert_eq!(stock(&server, &acme, &item).await["quantityInStock"], "-2");
}

#[tokio::test]
async fn two_invoices_cannot_both_take_the_last_unit() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "order-to-cash-invoice").await;
    let customer = account(&server, &acme).await;
    let item = product(&server, &acme, "LAST", "99", "1").await;
    let mut invoices = Vec::new();
    for n in 0..2 {
        invoices.push(create(&server, &acme, "INVOICE", json!({ "subject": format!("Order {n}"), "accountId": customer, "lines": [{ "productId": item, "quantity": "1" }] })).await);
    }
    let (a, b) = tokio::join!(
        set_status(&server, &acme.token, "INVOICE", &invoices[0], "Issued"),
        set_status(&server, &acme.token, "INVOICE", &invoices[1], "Issued"),
    );
    let issued = [&a, &b]
        .iter()
        .filter(|r| r["data"]["updateSalesDocument"]["status"] == "Issued")
        .count();
    assert_eq!(issued, 1, "{a}\n{b}");
    let loser = if a["errors"].is_null() { &b } else { &a };
    assert!(
        matches!(error_code(loser), "BAD_USER_INPUT" | "CONFLICT"),
        "{loser}"
    );
    let view = stock(&server, &acme, &item).await;
    assert_eq!(view["quantityInStock"], "0");
}

#[tokio::test]
async fn procure_to_pay_needs_a_manager_above_the_approval_limit() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, buyer) = server
        .user(&acme, "buyer@acme.example.com", &["SALES"])
        .await;
    let (_, manager) = server
        .user(&acme, "boss@acme.example.com", &["MANAGER"])
        .await;
    ok(&server, &acme.token, "mutation { updateSalesSettings(input: { purchaseApprovalLimit: \"1000\" }) { purchaseApprovalLimit } }", json!({}), "updateSalesSettings").await;
    let supplier = vendor(&server, &acme).await;
    let item = product(&server, &acme, "SERVER", "2500", "0").await;
    let small = create(&server, &acme, "PURCHASE_ORDER", json!({ "subject": "Cables", "vendorId": supplier, "lines": [{ "productId": item, "quantity": "1", "listPrice": "900" }] })).await;
    let large = create(&server, &acme, "PURCHASE_ORDER", json!({ "subject": "Servers", "vendorId": supplier, "lines": [{ "productId": item, "quantity": "2" }] })).await;
    assert_eq!(large["grandTotal"], "5000");

    let approved = fire(&server, &buyer, &small["id"], "approve").await;
    assert_eq!(
        approved["data"]["fireTransition"]["state"], "Approved",
        "{approved}"
    );
    let refused = fire(&server, &buyer, &large["id"], "approve").await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("manager"),
        "{refused}"
    );
    // The status belongs to the process.
    let direct = set_status(&server, &acme.token, "PURCHASE_ORDER", &large, "Approved").await;
    assert_eq!(error_field(&direct), "status");
    for transition in ["approve", "order", "receive"] {
        let moved = fire(&server, &manager, &large["id"], transition).await;
        assert!(moved["errors"].is_null(), "{transition}: {moved}");
    }
    let view = stock(&server, &acme, &item).await;
    assert_eq!(view["quantityInStock"], "2");
    assert_eq!(view["stockLedger"][0]["cause"], "purchase_order_received");
    let bill = fire(&server, &buyer, &large["id"], "bill").await;
    assert_eq!(error_code(&bill), "FORBIDDEN");
}

#[tokio::test]
async fn a_sent_quote_expires_at_its_validity_date() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let customer = account(&server, &acme).await;
    let quote = create(
        &server,
        &acme,
        "QUOTE",
        json!({ "subject": "Late", "accountId": customer, "validUntil": "2020-01-01" }),
    )
    .await;
    ok(
        &server,
        &acme.token,
        "mutation($id: ID!) { sendQuote(id: $id) { token } }",
        json!({ "id": quote["id"] }),
        "sendQuote",
    )
    .await;
    let mut status = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        status = ok(
            &server,
            &acme.token,
            "query($id: ID!) { salesDocument(kind: QUOTE, id: $id) { status } }",
            json!({ "id": quote["id"] }),
            "salesDocument",
        )
        .await["status"]
            .clone();
        if status == "Expired" {
            break;
        }
    }
    assert_eq!(status, "Expired");
}

/// The issue's "done when": in the demo tenant a quote goes to a customer link, is accepted
/// from it, becomes a sales order and an invoice, stock drops, a payment closes it, and a
/// subscriber sees every step.
#[tokio::test]
async fn order_to_cash_in_the_demo_tenant_through_a_customer_link() {
    let server = TestServer::start().await;
    let demo = bpaas::demo::ensure(&server.app.db).await.expect("demo");
    let token =
        bpaas::platform::users::issue_token(&server.app.tokens, &demo.admin).expect("token");
    let mut subscriber = WsClient::connect_authenticated(&server, &token).await;
    subscriber
        .subscribe("s", "subscription { changes { module action } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let catalogue = ok(&server, &token, "{ accounts(first: 1) { nodes { id } } products(filter: { code: { equals: \"LAP-14\" } }) { nodes { id quantityInStock } } }", json!({}), "products").await;
    let laptop = catalogue["nodes"][0].clone();
    assert_eq!(laptop["quantityInStock"], "25");
    let customer = ok(
        &server,
        &token,
        "{ accounts(first: 1) { nodes { id } } }",
        json!({}),
        "accounts",
    )
    .await["nodes"][0]["id"]
        .clone();
    let quote = ok(&server, &token, &create_query(), json!({ "k": "QUOTE", "input": {
        "subject": "Laptops for the Jakarta office", "accountId": customer, "validUntil": "2099-12-31", "dueDate": "2099-12-31",
        "lines": [{ "productId": laptop["id"], "quantity": "3" }]
    } }), "createSalesDocument").await;
    // Individual tax by default comes from the product's class only in individual mode.
    assert_eq!(quote["grandTotal"], "37500000");
    let sent = ok(&server, &token, "mutation($id: ID!) { sendQuote(id: $id, validDays: 14) { token quote { status } link { id } } }", json!({ "id": quote["id"] }), "sendQuote").await;
    assert_eq!(sent["quote"]["status"], "Sent");
    let link_token = sent["token"].as_str().unwrap().to_owned();

    // The customer, signed in as no one, sees that one quote…
    const VIEW: &str = "query($t: String!) { quoteForCustomer(token: $t) { company number status grandTotal awaitingResponse lines { description quantity total } } }";
    let seen = server.gql(None, VIEW, json!({ "t": link_token })).await;
    assert_eq!(
        seen["data"]["quoteForCustomer"]["number"], quote["number"],
        "{seen}"
    );
    assert_eq!(seen["data"]["quoteForCustomer"]["awaitingResponse"], true);
    assert_eq!(
        seen["data"]["quoteForCustomer"]["lines"][0]["description"],
        "Laptop 14\""
    );
    // …and nothing else: the token is no bearer token, and a wrong token shows nothing.
    let as_bearer = server
        .gql(
            Some(&link_token),
            "{ salesDocuments(kind: QUOTE) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&as_bearer), "UNAUTHENTICATED");
    let anonymous = server
        .gql(
            None,
            "{ salesDocuments(kind: QUOTE) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let wrong = server.gql(None, VIEW, json!({ "t": "0".repeat(64) })).await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");

    const RESPOND: &str = "mutation($t: String!, $a: Boolean!) { respondToQuote(token: $t, accept: $a, comment: \"Please deliver by Friday\") { status response awaitingResponse } }";
    let accepted = server
        .gql(None, RESPOND, json!({ "t": link_token, "a": true }))
        .await;
    assert_eq!(
        accepted["data"]["respondToQuote"],
        json!({ "status": "Accepted", "response": "accepted", "awaitingResponse": false }),
        "{accepted}"
    );
    let again = server
        .gql(None, RESPOND, json!({ "t": link_token, "a": false }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    // Accepting converted the quote to a sales order (an action of its process).
    let after = ok(&server, &token, "query($id: ID!) { salesDocument(kind: QUOTE, id: $id) { status salesOrders { id status } } }", json!({ "id": quote["id"] }), "salesDocument").await;
    let order = after["salesOrders"][0].clone();
    assert_eq!(order["status"], "Created", "{after}");
    for transition in ["approve", "deliver"] {
        let moved = fire(&server, &token, &order["id"], transition).await;
        assert!(moved["errors"].is_null(), "{transition}: {moved}");
    }
    // Delivering issued the invoice, which took the laptops out of stock.
    let invoices = ok(&server, &token, "query($id: ID!) { salesDocument(kind: SALES_ORDER, id: $id) { status invoices { id status grandTotal balance } } }", json!({ "id": order["id"] }), "salesDocument").await;
    let invoice = invoices["invoices"][0].clone();
    assert_eq!(invoice["status"], "Issued", "{invoices}");
    let laptop_after = ok(
        &server,
        &token,
        "query($id: ID!) { product(id: $id) { quantityInStock } }",
        json!({ "id": laptop["id"] }),
        "product",
    )
    .await;
    assert_eq!(laptop_after["quantityInStock"], "22");

    let paid = ok(&server, &token, "mutation($id: ID!, $a: Decimal!) { recordPayment(invoiceId: $id, input: { amount: $a, method: \"transfer\" }) { invoice { status balance } } }", json!({ "id": invoice["id"], "a": invoice["grandTotal"] }), "recordPayment").await;
    assert_eq!(paid["invoice"], json!({ "status": "Paid", "balance": "0" }));

    // The subscriber saw every step, in order.
    let mut steps = Vec::new();
    while let Some(Received::Json(message)) = subscriber.receive(Duration::from_millis(500)).await {
        {
            let change = &message["payload"]["data"]["changes"];
            steps.push(format!(
                "{} {}",
                change["module"].as_str().unwrap_or(""),
                change["action"].as_str().unwrap_or("")
            ));
        }
    }
    for expected in [
        "QUOTES created",
        "QUOTES updated",
        "NOTES created",
        "SALES_ORDERS created",
        "SALES_ORDERS updated",
        "INVOICES created",
        "INVOICES updated",
        "PRODUCTS stock_moved",
        "PROCESSES completed",
    ] {
        assert!(
            steps.iter().any(|s| s == expected),
            "{expected} missing from {steps:?}"
        );
    }
    let first_quote = steps.iter().position(|s| s == "QUOTES created").unwrap();
    let first_invoice = steps.iter().position(|s| s == "INVOICES created").unwrap();
    assert!(first_quote < first_invoice, "{steps:?}");
}

#[tokio::test]
async fn a_customer_link_stops_working_when_revoked() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let customer = account(&server, &acme).await;
    let quote = create(
        &server,
        &acme,
        "QUOTE",
        json!({ "subject": "Offer", "accountId": customer }),
    )
    .await;
    let sent = ok(
        &server,
        &acme.token,
        "mutation($id: ID!) { sendQuote(id: $id) { token link { id } } }",
        json!({ "id": quote["id"] }),
        "sendQuote",
    )
    .await;
    let view = "query($t: String!) { quoteForCustomer(token: $t) { number } }";
    let seen = server.gql(None, view, json!({ "t": sent["token"] })).await;
    assert_eq!(seen["data"]["quoteForCustomer"]["number"], "QUO-00001");
    let bad_days = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { sendQuote(id: $id, validDays: 0) { token } }",
            json!({ "id": quote["id"] }),
        )
        .await;
    assert_eq!(error_field(&bad_days), "validDays");
    ok(
        &server,
        &acme.token,
        "mutation($id: ID!) { revokeQuoteLink(id: $id) { revokedAt } }",
        json!({ "id": sent["link"]["id"] }),
        "revokeQuoteLink",
    )
    .await;
    let revoked = server.gql(None, view, json!({ "t": sent["token"] })).await;
    assert_eq!(error_code(&revoked), "UNAUTHENTICATED");
    let respond = server
        .gql(
            None,
            "mutation($t: String!) { respondToQuote(token: $t, accept: true) { status } }",
            json!({ "t": sent["token"] }),
        )
        .await;
    assert_eq!(error_code(&respond), "UNAUTHENTICATED");

    // A new link for the same quote works; the customer may answer without a comment.
    let resent = ok(
        &server,
        &acme.token,
        "mutation($id: ID!) { sendQuote(id: $id) { token } }",
        json!({ "id": quote["id"] }),
        "sendQuote",
    )
    .await;
    let rejected = server.gql(None, "mutation($t: String!) { respondToQuote(token: $t, accept: false) { status response } }", json!({ "t": resent["token"] })).await;
    assert_eq!(
        rejected["data"]["respondToQuote"],
        json!({ "status": "Rejected", "response": "rejected" }),
        "{rejected}"
    );
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_sales() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    server.unbind(&a, "order-to-cash-invoice").await;
    let customer = account(&server, &a).await;
    let item = product(&server, &a, "SECRET", "10", "5").await;
    vendor(&server, &a).await;
    tax_class(&server, &a, "VAT", "11").await;
    let invoice = create(&server, &a, "INVOICE", json!({ "subject": "Secret deal", "accountId": customer, "lines": [{ "productId": item, "quantity": "1" }] })).await;
    let issued = set_status(&server, &a.token, "INVOICE", &invoice, "Issued").await;
    assert!(issued["errors"].is_null(), "{issued}");
    let sent = ok(&server, &a.token, "mutation($id: ID!) { sendQuote(id: $id) { token } }", json!({ "id": create(&server, &a, "QUOTE", json!({ "subject": "Q", "accountId": customer })).await["id"] }), "sendQuote").await;
    assert!(sent["token"].is_string());

    let read = server
        .gql(
            Some(&b.token),
            "query($id: ID!) { salesDocument(kind: INVOICE, id: $id) { id } }",
            json!({ "id": invoice["id"] }),
        )
        .await;
    assert_eq!(error_code(&read), "NOT_FOUND");
    let lists = ok(&server, &b.token, "{ salesDocuments(kind: INVOICE) { totalCount } vendors { totalCount } services { totalCount } taxClasses { id } priceBooks { id } currencies { code } search(text: \"Secret\") { id } }", json!({}), "salesDocuments").await;
    assert_eq!(lists["totalCount"], 0);
    let all = server
        .gql(
            Some(&b.token),
            "{ vendors { totalCount } taxClasses { id } search(text: \"Secret\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all["data"],
        json!({ "vendors": { "totalCount": 0 }, "taxClasses": [], "search": [] }),
        "{all}"
    );
    let update = server
        .gql(
            Some(&b.token),
            &update_query(),
            json!({ "k": "INVOICE", "id": invoice["id"], "v": 2, "input": { "subject": "Mine" } }),
        )
        .await;
    assert_eq!(error_code(&update), "NOT_FOUND");
    let delete = server
        .gql(
            Some(&b.token),
            "mutation($id: ID!) { deleteSalesDocument(kind: INVOICE, id: $id) }",
            json!({ "id": invoice["id"] }),
        )
        .await;
    assert_eq!(error_code(&delete), "NOT_FOUND");
    let convert = server.gql(Some(&b.token), "mutation($id: ID!) { convertSalesDocument(kind: INVOICE, id: $id, to: INVOICE) { id } }", json!({ "id": invoice["id"] })).await;
    assert!(!convert["errors"].is_null());
    let pay = server.gql(Some(&b.token), "mutation($id: ID!) { recordPayment(invoiceId: $id, input: { amount: \"1\", method: \"cash\" }) { payment { id } } }", json!({ "id": invoice["id"] })).await;
    assert_eq!(error_field(&pay), "invoiceId");
    let b_customer = account(&server, &b).await;
    let borrow = server.gql(Some(&b.token), &create_query(), json!({ "k": "QUOTE", "input": { "subject": "x", "accountId": b_customer, "lines": [{ "productId": item, "quantity": "1" }] } })).await;
    assert_eq!(error_field(&borrow), "lines.0.productId");
    let foreign_account = server
        .gql(
            Some(&b.token),
            &create_query(),
            json!({ "k": "QUOTE", "input": { "subject": "x", "accountId": customer } }),
        )
        .await;
    assert_eq!(error_field(&foreign_account), "accountId");
    // A's link shows A's quote only, never B's data, and B's records stay as they were.
    let through_link = server
        .gql(
            None,
            "query($t: String!) { quoteForCustomer(token: $t) { company } }",
            json!({ "t": sent["token"] }),
        )
        .await;
    assert_eq!(
        through_link["data"]["quoteForCustomer"]["company"],
        "tenant-a Ltd"
    );
    assert_eq!(stock(&server, &a, &item).await["quantityInStock"], "4");
}

#[tokio::test]
async fn listing_documents_with_lines_and_products_runs_a_fixed_number_of_statements() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let customer = account(&server, &acme).await;
    let first = product(&server, &acme, "A-1", "10", "0").await;
    let second = product(&server, &acme, "A-2", "20", "0").await;
    for n in 0..12 {
        create(
            &server,
            &acme,
            "QUOTE",
            json!({ "subject": format!("Quote {n}"), "accountId": customer, "lines": [
            { "productId": first, "quantity": "1" }, { "productId": second, "quantity": "2" }
        ] }),
        )
        .await;
    }
    const QUERY: &str = "query($first: Int!) { salesDocuments(kind: QUOTE, first: $first) { nodes {
        number grandTotal account { name } owner { email } lines { total product { code vendor { name } } } } } }";
    let mut counts = Vec::new();
    for page in [2, 12] {
        let before = server.app.statements.load(Ordering::SeqCst);
        let response = server
            .gql(Some(&acme.token), QUERY, json!({ "first": page }))
            .await;
        let after = server.app.statements.load(Ordering::SeqCst);
        let nodes = response["data"]["salesDocuments"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"));
        assert_eq!(nodes.len(), page as usize);
        assert_eq!(nodes[0]["lines"][1]["product"]["code"], "A-2");
        counts.push(after - before);
    }
    // Sign-in (2), the page (2), then one batch each: accounts, owners, lines, products.
    assert!(
        counts[1] <= counts[0] + 2,
        "statements grow with the page size: {counts:?}"
    );
    assert!(
        counts[1] <= 10,
        "too many statements for one page: {counts:?}"
    );
}
