//! Scheduled reports: schedules checked and reckoned in the tenant's time zone; each run
//! stores one snapshot (also with two replicas racing for it), made with its owner's rights
//! as they are at the time and announced to webhooks; snapshots downloaded with the viewer's
//! rights; other tenants see none of it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::reports::schedule;

use crate::common::{Tenant, TestServer, error_code, error_field};
use crate::integrations::{
    SharedInbox, allow_private_targets, create_webhook, start_receiver, wait_for,
};
use crate::reports::{gql_ok, save_report, seed};

const SCHEDULE: &str = "mutation($id: ID!, $s: ReportScheduleInput!, $v: Int) {
    scheduleReport(id: $id, schedule: $s, version: $v) {
        id reportId frequency cron description active nextRunAt lastRunAt ownerId version } }";
const STATE: &str = "query($id: ID!) { report(id: $id) {
    schedule { active nextRunAt lastRunAt version }
    snapshots(first: 50) { id scheduled status error rowCount downloadUrl takenBy createdAt } } }";
const SNAPSHOT: &str =
    "mutation($id: ID!) { snapshotReport(id: $id) { id status rowCount downloadUrl } }";

fn by_stage() -> Value {
    json!({ "kind": "SUMMARY", "source": "opportunities", "groupBy": [{ "field": "salesStage" }],
            "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "amount" }] })
}

/// Moves a report's next run into the past, as if its time had come.
async fn make_due(server: &TestServer, report_id: &str) {
    let past = Utc::now() - chrono::Duration::seconds(1);
    schedule::Entity::update_many()
        .col_expr(schedule::Column::NextRunAt, Expr::value(past))
        .filter(schedule::Column::ReportId.eq(Uuid::parse_str(report_id).unwrap()))
        .exec(&server.app.db)
        .await
        .unwrap();
}

/// The report's schedule and snapshots once it has `n` snapshots.
async fn wait_for_snapshots(server: &TestServer, token: &str, id: &str, n: usize) -> Value {
    let mut state = Value::Null;
    for _ in 0..60 {
        state = gql_ok(server, token, STATE, json!({ "id": id })).await["report"].clone();
        if state["snapshots"].as_array().unwrap().len() >= n {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("expected {n} snapshots: {state}");
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, String, String) {
    let response = server
        .http()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, disposition, response.text().await.unwrap())
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn each_run_stores_one_snapshot_also_with_two_replicas() {
    let server = TestServer::start().await;
    // On PostgreSQL a second replica's scheduler competes for the same schedule.
    let _replica = if server.on_postgres() {
        Some(server.replica().await)
    } else {
        None
    };
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    gql_ok(
        &server,
        &acme.token,
        "mutation { updateSalesSettings(input: { timeZone: \"Asia/Jakarta\" }) { baseCurrency } }",
        json!({}),
    )
    .await;
    let id = save_report(&server, &acme.token, "Pipeline by stage", by_stage()).await;
    let before = Utc::now();
    let set = gql_ok(
        &server,
        &acme.token,
        SCHEDULE,
        json!({ "id": id, "s": { "frequency": "DAILY", "time": "08:00" } }),
    )
    .await["scheduleReport"]
        .clone();
    assert_eq!(set["frequency"], "DAILY");
    assert_eq!(set["cron"], "0 8 * * *");
    assert!(
        set["description"].as_str().unwrap().contains("08:00"),
        "{set}"
    );
    assert_eq!(set["active"], true);
    assert_eq!(set["ownerId"], acme.admin_id.to_string());
    assert_eq!(set["lastRunAt"], Value::Null);
    // 08:00 in Jakarta (UTC+7, no daylight saving) is 01:00 UTC: the next one after now.
    let one_am = before.date_naive().and_hms_opt(1, 0, 0).unwrap().and_utc();
    let expected = if one_am > before {
        one_am
    } else {
        one_am + chrono::Duration::days(1)
    };
    assert_eq!(time(&set["nextRunAt"]), expected);

    make_due(&server, &id).await;
    let state = wait_for_snapshots(&server, &acme.token, &id, 1).await;
    // Both schedulers poll every second: give them time to run it twice, were that possible.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let state_after =
        gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await["report"].clone();
    assert_eq!(
        state_after["snapshots"].as_array().unwrap().len(),
        1,
        "one run, one snapshot: {state_after}"
    );
    let snapshot = &state["snapshots"][0];
    assert_eq!(snapshot["status"], "READY");
    assert_eq!(snapshot["scheduled"], true);
    assert_eq!(snapshot["rowCount"], 4, "four sales stages");
    assert_eq!(snapshot["takenBy"], acme.admin_id.to_string());
    let schedule = &state_after["schedule"];
    assert_eq!(schedule["active"], true);
    assert_eq!(
        time(&schedule["nextRunAt"]),
        expected,
        "the next 08:00 again"
    );
    assert!(time(&schedule["lastRunAt"]) >= before);
    assert_eq!(
        schedule["version"], 1,
        "running is not a change of the schedule"
    );

    // The stored file is the report as it was, read back as the live one reads.
    let path = snapshot["downloadUrl"].as_str().unwrap();
    let (status, disposition, stored) = get(&server, &acme.token, path).await;
    assert_eq!(status, 200, "{stored}");
    assert!(
        disposition.starts_with("attachment; filename=\"pipeline-by-stage-"),
        "{disposition}"
    );
    let (_, _, live) = get(&server, &acme.token, &format!("/reports/{id}.csv")).await;
    assert_eq!(stored, live);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(stored.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 5, "four stages and the total");
    assert_eq!(&rows[4][0], "Total");
    assert_eq!(&rows[4][1], "8");
}

#[tokio::test]
async fn a_schedule_runs_with_its_owners_rights_at_the_time_and_stops_without_its_owner() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let (sales_id, sales_token) = server.user(&acme, "sales@acme.test", &["SALES"]).await;
    let id = save_report(&server, &sales_token, "My pipeline", by_stage()).await;
    let set = gql_ok(
        &server,
        &sales_token,
        SCHEDULE,
        json!({ "id": id, "s": { "frequency": "WEEKLY", "weekday": "FRIDAY", "time": "17:00" } }),
    )
    .await;
    assert_eq!(set["scheduleReport"]["cron"], "0 17 * * 5");
    assert_eq!(set["scheduleReport"]["ownerId"], sales_id);

    let permission = "mutation($read: Boolean!) {
        setPermission(role: SALES, module: OPPORTUNITIES, read: $read, write: $read) { read } }";
    gql_ok(&server, &acme.token, permission, json!({ "read": false })).await;
    make_due(&server, &id).await;
    let state = wait_for_snapshots(&server, &acme.token, &id, 1).await;
    let failed = &state["snapshots"][0];
    assert_eq!(failed["status"], "FAILED");
    assert!(
        failed["error"].as_str().unwrap().contains("opportunities"),
        "{failed}"
    );
    assert_eq!(failed["downloadUrl"], Value::Null);
    assert_eq!(failed["rowCount"], 0);
    assert_eq!(
        state["schedule"]["active"], true,
        "rights may come back: it keeps running"
    );

    gql_ok(&server, &acme.token, permission, json!({ "read": true })).await;
    make_due(&server, &id).await;
    let state = wait_for_snapshots(&server, &acme.token, &id, 2).await;
    assert_eq!(state["snapshots"][0]["status"], "READY", "newest first");
    assert_eq!(state["snapshots"][0]["rowCount"], 4);

    // Its owner leaves: the run fails, and the schedule stops until someone sets it again.
    let user = gql_ok(
        &server,
        &acme.token,
        "query($id: ID!) { user(id: $id) { version } }",
        json!({ "id": sales_id }),
    )
    .await;
    gql_ok(
        &server,
        &acme.token,
        "mutation($id: ID!, $v: Int!) { updateUser(id: $id, input: { version: $v, active: false }) { active } }",
        json!({ "id": sales_id, "v": user["user"]["version"] }),
    )
    .await;
    make_due(&server, &id).await;
    let state = wait_for_snapshots(&server, &acme.token, &id, 3).await;
    assert_eq!(state["snapshots"][0]["status"], "FAILED");
    assert!(
        state["snapshots"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no longer an active user"),
        "{state}"
    );
    assert_eq!(state["schedule"]["active"], false);
    assert_eq!(state["schedule"]["version"], 1);
}

#[tokio::test]
async fn snapshots_are_read_with_the_viewers_rights_and_the_latest_thirty_kept() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let (_, sales_token) = server.user(&acme, "sales@acme.test", &["SALES"]).await;
    // Payroll is confidential: sales sees the shared report, never its figures.
    let payroll = save_report(
        &server,
        &acme.token,
        "Payroll cost",
        json!({ "kind": "SUMMARY", "source": "payslips", "groupBy": [{ "field": "periodEnd", "bucket": "MONTH" }] }),
    )
    .await;
    let taken = gql_ok(&server, &acme.token, SNAPSHOT, json!({ "id": payroll })).await;
    let path = taken["snapshotReport"]["downloadUrl"].as_str().unwrap();
    assert_eq!(taken["snapshotReport"]["status"], "READY");
    let (status, _, _) = get(&server, &acme.token, path).await;
    assert_eq!(status, 200);
    let (status, _, body) = get(&server, &sales_token, path).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("FORBIDDEN"), "{body}");
    let listed = gql_ok(&server, &sales_token, STATE, json!({ "id": payroll })).await;
    assert_eq!(listed["report"]["snapshots"].as_array().unwrap().len(), 1);
    // Only its owner or an administrator takes or schedules snapshots of a shared report.
    for (query, variables) in [
        (SNAPSHOT, json!({ "id": payroll })),
        (
            SCHEDULE,
            json!({ "id": payroll, "s": { "frequency": "DAILY" } }),
        ),
        (
            "mutation($id: ID!) { unscheduleReport(id: $id) }",
            json!({ "id": payroll }),
        ),
    ] {
        let response = server.gql(Some(&sales_token), query, variables).await;
        assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    }

    let id = save_report(&server, &acme.token, "Pipeline", by_stage()).await;
    let mut paths = Vec::new();
    for _ in 0..32 {
        let taken = gql_ok(&server, &acme.token, SNAPSHOT, json!({ "id": id })).await;
        assert_eq!(taken["snapshotReport"]["rowCount"], 4);
        paths.push(
            taken["snapshotReport"]["downloadUrl"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    let kept: Vec<&str> = state["report"]["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["downloadUrl"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = paths.iter().rev().take(30).map(String::as_str).collect();
    assert_eq!(kept, newest_first);
    let (status, _, _) = get(&server, &acme.token, &paths[0]).await;
    assert_eq!(status, 404, "the oldest are gone");
    let (status, _, _) = get(&server, &acme.token, &paths[2]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn schedules_are_checked_versioned_and_removable() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let id = save_report(&server, &acme.token, "Pipeline", by_stage()).await;
    for (schedule, field) in [
        (
            json!({ "frequency": "CRON", "cron": "*/5 * * * *" }),
            "schedule.cron",
        ),
        (
            json!({ "frequency": "CRON", "cron": "0 0 30 2 *" }),
            "schedule.cron",
        ),
        (
            json!({ "frequency": "CRON", "cron": "not cron" }),
            "schedule.cron",
        ),
        (json!({ "frequency": "CRON" }), "schedule.cron"),
        (
            json!({ "frequency": "MONTHLY", "dayOfMonth": 31 }),
            "schedule.dayOfMonth",
        ),
        (
            json!({ "frequency": "DAILY", "time": "25:00" }),
            "schedule.time",
        ),
    ] {
        let response = server
            .gql(
                Some(&acme.token),
                SCHEDULE,
                json!({ "id": id, "s": schedule }),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(error_field(&response), field, "{response}");
    }
    let state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    assert_eq!(
        state["report"]["schedule"],
        Value::Null,
        "nothing was stored"
    );

    let hourly = json!({ "frequency": "CRON", "cron": "15 9-17 * * MON-FRI", "active": false });
    let set = gql_ok(
        &server,
        &acme.token,
        SCHEDULE,
        json!({ "id": id, "s": hourly }),
    )
    .await;
    assert_eq!(set["scheduleReport"]["version"], 1);
    assert_eq!(set["scheduleReport"]["active"], false);
    let again = server
        .gql(
            Some(&acme.token),
            SCHEDULE,
            json!({ "id": id, "s": hourly }),
        )
        .await;
    assert_eq!(error_field(&again), "version", "{again}");
    let monthly = json!({ "frequency": "MONTHLY", "dayOfMonth": 28, "time": "06:30" });
    let changed = gql_ok(
        &server,
        &acme.token,
        SCHEDULE,
        json!({ "id": id, "s": monthly, "v": 1 }),
    )
    .await;
    assert_eq!(changed["scheduleReport"]["version"], 2);
    assert_eq!(changed["scheduleReport"]["cron"], "30 6 28 * *");
    assert_eq!(changed["scheduleReport"]["active"], true);
    let stale = server
        .gql(
            Some(&acme.token),
            SCHEDULE,
            json!({ "id": id, "s": hourly, "v": 1 }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");

    // An inactive schedule does not run, even when its time has come.
    let paused = json!({ "frequency": "DAILY", "active": false });
    gql_ok(
        &server,
        &acme.token,
        SCHEDULE,
        json!({ "id": id, "s": paused, "v": 2 }),
    )
    .await;
    make_due(&server, &id).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    assert_eq!(state["report"]["snapshots"], json!([]));

    let unschedule = "mutation($id: ID!) { unscheduleReport(id: $id) }";
    let removed = gql_ok(&server, &acme.token, unschedule, json!({ "id": id })).await;
    assert_eq!(removed["unscheduleReport"], true);
    let removed = gql_ok(&server, &acme.token, unschedule, json!({ "id": id })).await;
    assert_eq!(removed["unscheduleReport"], false);
    let state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    assert_eq!(state["report"]["schedule"], Value::Null);
}

/// A report of `tenant`'s with a daily schedule and a webhook for report events; answers the
/// report's id and the webhook's inbox.
async fn scheduled_with_webhook(server: &TestServer, tenant: &Tenant) -> (String, SharedInbox) {
    seed(server, tenant).await;
    let id = save_report(server, &tenant.token, "Pipeline", by_stage()).await;
    gql_ok(
        server,
        &tenant.token,
        SCHEDULE,
        json!({ "id": id, "s": { "frequency": "DAILY" } }),
    )
    .await;
    let inbox = SharedInbox::default();
    let receiver = start_receiver(inbox.clone()).await;
    let url = format!("http://{receiver}/hook");
    create_webhook(server, tenant, &url, &["reports.*"]).await;
    (id, inbox)
}

#[tokio::test]
async fn snapshots_are_announced_to_webhooks_and_blind_to_other_tenants() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let (id, acme_inbox) = scheduled_with_webhook(&server, &acme).await;
    let (globex_id, globex_inbox) = scheduled_with_webhook(&server, &globex).await;

    make_due(&server, &id).await;
    let received = wait_for(&acme_inbox, 1).await;
    let event: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(event["type"], "reports.snapshot");
    let record = &event["data"]["record"];
    assert_eq!(record["reportId"], id.as_str());
    assert_eq!(record["reportName"], "Pipeline");
    assert_eq!(record["status"], "ready");
    assert_eq!(record["rowCount"], 4);
    let path = record["download"].as_str().unwrap();
    let (status, _, _) = get(&server, &acme.token, path).await;
    assert_eq!(status, 200);
    let snapshot_id = record["id"].as_str().unwrap();

    // Globex heard nothing, and reaches none of it, not even through its own report.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(globex_inbox.lock().unwrap().received.is_empty());
    for path in [
        path.to_owned(),
        format!("/reports/{globex_id}/snapshots/{snapshot_id}.csv"),
    ] {
        let (status, _, _) = get(&server, &globex.token, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    for (query, variables) in [
        (
            SCHEDULE,
            json!({ "id": id, "s": { "frequency": "DAILY" }, "v": 1 }),
        ),
        (
            "mutation($id: ID!) { unscheduleReport(id: $id) }",
            json!({ "id": id }),
        ),
        (SNAPSHOT, json!({ "id": id })),
        (STATE, json!({ "id": id })),
    ] {
        let response = server.gql(Some(&globex.token), query, variables).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{response}");
    }
    let own = gql_ok(&server, &globex.token, STATE, json!({ "id": globex_id })).await;
    assert_eq!(own["report"]["snapshots"], json!([]));
    let acme_state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    assert_eq!(acme_state["report"]["schedule"]["version"], 1, "unchanged");
    assert_eq!(
        acme_state["report"]["snapshots"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_new_time_zone_moves_the_next_runs() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let id = save_report(&server, &acme.token, "Pipeline", by_stage()).await;
    let set = gql_ok(
        &server,
        &acme.token,
        SCHEDULE,
        json!({ "id": id, "s": { "frequency": "DAILY", "time": "08:00" } }),
    )
    .await;
    let utc = time(&set["scheduleReport"]["nextRunAt"]);
    assert_eq!(utc.format("%H:%M").to_string(), "08:00");
    gql_ok(
        &server,
        &acme.token,
        "mutation { updateSalesSettings(input: { timeZone: \"Asia/Jakarta\" }) { baseCurrency } }",
        json!({}),
    )
    .await;
    let state = gql_ok(&server, &acme.token, STATE, json!({ "id": id })).await;
    let jakarta = time(&state["report"]["schedule"]["nextRunAt"]);
    // 08:00 in Jakarta is 01:00 UTC: the first such time from now.
    assert_eq!(jakarta.format("%H:%M").to_string(), "01:00");
    assert!(jakarta > Utc::now() && jakarta <= Utc::now() + chrono::Duration::days(1));
    assert_eq!(state["report"]["schedule"]["version"], 1);
}
