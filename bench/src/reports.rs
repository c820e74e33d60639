//! The report figure: one tenant with N opportunities, a summary report grouped by sales stage
//! and close month (count, sum, average of the amount) run over HTTP.

use std::net::SocketAddr;
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use bpaas::app::SharedApp;
use entity::crm::opportunity;

const STAGES: [&str; 6] = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Negotiation or Review",
    "Closed Won",
    "Closed Lost",
];

/// Seeds `count` opportunities into a new tenant (rows inserted in batches: the figure is the
/// report's, not the seeding's) and times the report, median of five runs.
pub async fn run(app: &SharedApp, addr: SocketAddr, count: usize) -> Result<(), String> {
    let slug = format!("report-{}", Uuid::now_v7().simple());
    let (tenant, admin, token) = crate::new_tenant(app, &slug).await?;
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?;
    let now = Utc::now();
    let seeding = Instant::now();
    for batch in (0..count).collect::<Vec<_>>().chunks(1000) {
        let rows = batch.iter().map(|&n| opportunity::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.id),
            opportunity_no: Set(format!("POT-{n:06}")),
            name: Set(format!("Deal {n}")),
            account_id: Set(None),
            contact_id: Set(None),
            amount: Set(Some(((n as i64 * 7_919) % 100_000_000) * 100)),
            currency: Set("USD".into()),
            expected_close_date: Set(start.checked_add_days(Days::new((n % 730) as u64))),
            sales_stage: Set(STAGES[n % STAGES.len()].into()),
            probability: Set(((n % 10) * 10) as i32),
            lead_source: Set(None),
            next_step: Set(None),
            owner_id: Set(admin.id),
            description: Set(None),
            custom_fields: Set(json!({})),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
        opportunity::Entity::insert_many(rows)
            .exec(&app.db)
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "\nreport over {count} opportunities (seeded in {:.1} s):",
        seeding.elapsed().as_secs_f64()
    );
    let definition = json!({
        "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }, { "field": "expectedCloseDate", "bucket": "MONTH" }],
        "aggregates": [
            { "function": "COUNT" },
            { "function": "SUM", "field": "amount" },
            { "function": "AVG", "field": "amount" }
        ]
    });
    let query = "query($d: ReportDefinitionInput!) { previewReport(definition: $d, parameters: { first: 1000 }) { totalRows totals { value } } }";
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let response: Json = client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": { "d": definition } }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let groups = response["data"]["previewReport"]["totalRows"].as_u64();
        if groups != Some((STAGES.len() * 24) as u64) {
            return Err(format!("unexpected report: {response}"));
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  summary by stage x month (count, sum, avg; {} groups): median {:.0} ms, best {:.0} ms",
        STAGES.len() * 24,
        times[2],
        times[0]
    );
    Ok(())
}
