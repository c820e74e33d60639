//! The import figure: one tenant, a CSV file of N contacts posted to `/import/contacts`.

use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Instant;

use serde_json::Value as Json;

use bpaas::app::SharedApp;

/// Imports `count` contacts into a new tenant over HTTP and prints how long it took.
pub async fn run(app: &SharedApp, addr: SocketAddr, count: usize) -> Result<(), String> {
    let slug = format!("import-{}", uuid::Uuid::now_v7().simple());
    let (_, _, token) = crate::new_tenant(app, &slug).await?;
    let mut csv = String::from("First Name,Last Name,Email,Office Phone,Title,Mailing City\n");
    for n in 0..count {
        let _ = writeln!(
            csv,
            "Budi,Santoso {n},budi.{n}@example.com,+62 21 555 {:04},Buyer,Jakarta",
            n % 10_000
        );
    }
    let bytes = csv.len();
    let statements = app.statements.load(std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/import/contacts"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let report: Json = response.json().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    let statements = app.statements.load(std::sync::atomic::Ordering::Relaxed) - statements;
    if report["created"].as_u64() != Some(count as u64) {
        return Err(format!("the import did not create every contact: {report}"));
    }
    println!(
        "\nimport {count} contacts ({:.1} MB CSV) over HTTP: {elapsed:.1} s, {:.0} rows/s, {:.1} SQL statements per row",
        bytes as f64 / 1e6,
        count as f64 / elapsed,
        statements as f64 / count as f64
    );
    Ok(())
}
