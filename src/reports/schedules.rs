//! Scheduled reports. A report may have one schedule: daily, weekly or monthly at a time of
//! day, or a five-field cron expression, reckoned in the tenant's time zone, at most once an
//! hour. Each run stores a snapshot (see `snapshots`) made with the rights that the user who
//! set the schedule has at the time of the run.
//!
//! Every replica runs the scheduler. A round claims due schedules (`FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, then a lease, so that no transaction stays open while a report runs), runs
//! them, then stores the snapshot and moves the schedule on in one transaction that commits
//! only if the schedule is still at the run it claimed: one snapshot per run, even when
//! replicas race or a lease runs out. A server that was down runs a missed schedule once, not
//! once per run it missed.

use std::time::Duration;

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect,
};
use tokio::sync::watch;
use uuid::Uuid;

use entity::reports::{report, schedule};

use super::snapshots::{self, Taken};
use super::{saved, sharing};
use crate::app::SharedApp;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::platform::users;
use crate::records;
use crate::sales::catalogue;
use crate::tenancy::TenantScope;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "ScheduleFrequency")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    /// Any five-field cron expression.
    Cron,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Cron => "cron",
        }
    }

    pub fn parse(stored: &str) -> Frequency {
        match stored {
            "daily" => Frequency::Daily,
            "weekly" => Frequency::Weekly,
            "monthly" => Frequency::Monthly,
            _ => Frequency::Cron,
        }
    }
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// When a report runs by itself.
#[derive(InputObject, Clone, Debug)]
#[graphql(name = "ReportScheduleInput")]
pub struct ScheduleInput {
    pub frequency: Frequency,
    /// DAILY, WEEKLY, MONTHLY: the time of day as `HH:MM` in the tenant's time zone (08:00
    /// unless given).
    pub time: Option<String>,
    /// WEEKLY: the day (MONDAY unless given).
    pub weekday: Option<Weekday>,
    /// MONTHLY: the day of the month, 1 to 28 (1 unless given); for the last day of the
    /// month, use CRON with `L` (`0 8 L * *`).
    pub day_of_month: Option<i32>,
    /// CRON: minute, hour, day of month, month, day of week (`30 7 * * MON-FRI`), in the
    /// tenant's time zone; at most once an hour.
    pub cron: Option<String>,
    /// An inactive schedule keeps its settings but does not run.
    #[graphql(default = true)]
    pub active: bool,
}

/// The schedule as a cron expression: the given one, or the one the frequency stands for.
pub fn cron_of(input: &ScheduleInput) -> AppResult<String> {
    if input.frequency == Frequency::Cron {
        let cron = input
            .cron
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| AppError::bad_input("schedule.cron", "give a cron expression"))?;
        if cron.len() > 100 {
            return Err(AppError::bad_input(
                "schedule.cron",
                "give at most 100 characters",
            ));
        }
        return Ok(cron.to_owned());
    }
    let (hour, minute) = time_of_day(input.time.as_deref().unwrap_or("08:00"))
        .ok_or_else(|| AppError::bad_input("schedule.time", "give a time of day as HH:MM"))?;
    Ok(match input.frequency {
        Frequency::Weekly => {
            let day = input.weekday.unwrap_or(Weekday::Monday) as u8 + 1;
            format!("{minute} {hour} * * {day}")
        }
        Frequency::Monthly => {
            let day = input.day_of_month.unwrap_or(1);
            if !(1..=28).contains(&day) {
                return Err(AppError::bad_input(
                    "schedule.dayOfMonth",
                    "must be 1 to 28 (use CRON with L for the last day of the month)",
                ));
            }
            format!("{minute} {hour} {day} * *")
        }
        _ => format!("{minute} {hour} * * *"),
    })
}

fn time_of_day(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text.trim().split_once(':')?;
    if hour.len() > 2 || minute.len() != 2 {
        return None;
    }
    let (hour, minute) = (hour.parse().ok()?, minute.parse().ok()?);
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// Standard five-field cron: no seconds (nothing runs more than once an hour anyway), no years.
fn parse(cron: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(cron)
        .map_err(|e| e.to_string())
}

/// The first run of `cron` in `zone` after `after`; `None` when it never runs again.
fn next_after(cron: &Cron, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after.with_timezone(&zone), false)
        .ok()
        .map(|next| next.with_timezone(&Utc))
}

/// Runs closer together are refused: a schedule runs at most once an hour.
const SHORTEST_INTERVAL: chrono::Duration = chrono::Duration::hours(1);

/// Checks a cron expression and returns its first run after `now`. Sixty-one runs in a row
/// are enough to see any two within the hour: that needs two minutes in one hour, and an
/// hour has sixty.
pub fn first_run(cron: &str, zone: Tz, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let field = "schedule.cron";
    let parsed = parse(cron).map_err(|e| AppError::bad_input(field, e))?;
    let first =
        next_after(&parsed, zone, now).ok_or_else(|| AppError::bad_input(field, "never runs"))?;
    let mut previous = first;
    for _ in 0..60 {
        let Some(next) = next_after(&parsed, zone, previous) else {
            break;
        };
        if next - previous < SHORTEST_INTERVAL {
            return Err(AppError::bad_input(
                field,
                "runs more than once an hour; schedule reports at most hourly",
            ));
        }
        previous = next;
    }
    Ok(first)
}

/// The next run of a stored schedule after `after`; `None` when it runs no more.
fn next_run(cron: &str, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    parse(cron)
        .ok()
        .and_then(|cron| next_after(&cron, zone, after))
}

/// In words: "At 08:00 on Monday".
pub fn describe(cron: &str) -> String {
    parse(cron).map(|c| c.describe()).unwrap_or_default()
}

/// A report's schedule, if it has one and the caller sees the report.
pub async fn of_report(
    db: &impl Conn,
    actor: &Principal,
    report_id: Uuid,
) -> AppResult<Option<schedule::Model>> {
    sharing::get::<report::Entity>(db, actor, report_id).await?;
    schedule_of(db, &actor.scope(), report_id).await
}

async fn schedule_of(
    db: &impl Conn,
    scope: &TenantScope,
    report_id: Uuid,
) -> AppResult<Option<schedule::Model>> {
    Ok(scope
        .select::<schedule::Entity>()
        .filter(schedule::Column::ReportId.eq(report_id))
        .one(db)
        .await?)
}

/// Schedules a report (its owner or an administrator), or changes its schedule: `version`
/// is the schedule's as read (CONFLICT when it changed meanwhile). The caller becomes the
/// schedule's owner: runs use the caller's rights, so the caller must be able to run it now.
pub async fn set(
    db: &DatabaseConnection,
    actor: &Principal,
    report_id: Uuid,
    version: Option<i32>,
    input: ScheduleInput,
) -> AppResult<schedule::Model> {
    let report = sharing::editable::<report::Entity>(db, actor, report_id).await?;
    let facts = saved::tenant_facts(db, actor).await?;
    saved::check_runnable(actor, &facts.custom, &report)?;
    let cron = cron_of(&input)?;
    let now = facts.setting.now;
    let next_run_at = first_run(&cron, facts.setting.zone, now)?;
    let existing = schedule_of(db, &actor.scope(), report_id).await?;
    let changes = schedule::ActiveModel {
        owner_id: Set(actor.user_id),
        frequency: Set(input.frequency.as_str().to_owned()),
        cron: Set(cron),
        active: Set(input.active),
        next_run_at: Set(next_run_at),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(existing) = existing else {
        return Ok(schedule::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: actor.scope().owner(),
            report_id: Set(report_id),
            last_run_at: Set(None),
            locked_until: Set(None),
            version: Set(1),
            created_at: Set(now),
            ..changes
        }
        .insert(db)
        .await?);
    };
    let version = version.ok_or_else(|| {
        AppError::bad_input("version", "the report has a schedule: give its version")
    })?;
    sharing::replace::<schedule::Entity>(db, actor, existing.id, version, changes).await
}

/// Removes a report's schedule (its owner or an administrator); its snapshots stay.
pub async fn remove(
    db: &DatabaseConnection,
    actor: &Principal,
    report_id: Uuid,
) -> AppResult<bool> {
    sharing::editable::<report::Entity>(db, actor, report_id).await?;
    let removed = actor
        .scope()
        .delete::<schedule::Entity>()
        .filter(schedule::Column::ReportId.eq(report_id))
        .exec(db)
        .await?;
    Ok(removed.rows_affected > 0)
}

/// Reckons the next run of the tenant's active schedules in `zone` (its time zone changed), in
/// the caller's transaction.
pub async fn reckon_in(txn: &impl Conn, scope: &TenantScope, zone: Tz) -> AppResult<()> {
    let now = Utc::now();
    let active = scope
        .select::<schedule::Entity>()
        .filter(schedule::Column::Active.eq(true))
        .all(txn)
        .await?;
    for found in active {
        let Some(next) = next_run(&found.cron, zone, now) else {
            continue;
        };
        scope
            .update::<schedule::Entity>()
            .col_expr(schedule::Column::NextRunAt, Expr::value(next))
            .filter(schedule::Column::Id.eq(found.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

const POLL: Duration = Duration::from_secs(1);
/// Schedules one replica claims at once; they run one after another.
const BATCH: u64 = 5;
/// How long a claim holds a schedule: longer than the largest report takes.
const LEASE: Duration = Duration::from_secs(600);

/// Runs until shutdown, restarting after a panic.
pub async fn run(app: SharedApp, shutdown: watch::Receiver<bool>) {
    crate::app::supervise("report scheduler", move || {
        rounds(app.clone(), shutdown.clone())
    })
    .await;
}

async fn rounds(app: SharedApp, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let claimed = match claim_due(&app.jobs_db).await {
            Ok(claimed) => claimed,
            Err(_) => {
                tracing::warn!("report scheduler: could not claim schedules; retrying later");
                continue;
            }
        };
        for due in claimed {
            let id = due.id;
            if run_due(&app, due).await.is_err() {
                tracing::warn!(schedule = %id, "scheduled report could not be stored; retrying later");
            }
        }
    }
}

/// Claims up to a batch of active schedules whose time has come.
async fn claim_due(db: &DatabaseConnection) -> AppResult<Vec<schedule::Model>> {
    let now = Utc::now();
    let txn = crate::db::begin(db).await?;
    // The one query that spans tenants: the scheduler serves them all. Each claimed schedule
    // then runs strictly within its own tenant.
    let mut due = schedule::Entity::find()
        .filter(schedule::Column::Active.eq(true))
        .filter(schedule::Column::NextRunAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(schedule::Column::LockedUntil.is_null())
                .add(schedule::Column::LockedUntil.lt(now)),
        )
        .limit(BATCH);
    if db.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claimed = due.all(&txn).await?;
    if !claimed.is_empty() {
        schedule::Entity::update_many()
            .col_expr(schedule::Column::LockedUntil, Expr::value(now + LEASE))
            .filter(schedule::Column::Id.is_in(claimed.iter().map(|s| s.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(claimed)
}

/// Runs a claimed schedule as its owner and stores what came of it, with its next run.
async fn run_due(app: &SharedApp, due: schedule::Model) -> AppResult<()> {
    let db = &app.jobs_db;
    let scope = TenantScope::new(due.tenant_id);
    let owner = users::acting_as(db, &app.permissions, &scope, due.owner_id).await?;
    let taken = match &owner {
        Some(owner) => snapshots::compute(db, owner, due.report_id).await,
        None => Taken::failed("the schedule's owner is no longer an active user"),
    };
    let now = Utc::now();
    let zone = catalogue::time_zone(&catalogue::settings(db, &scope).await?);
    let next_run_at = next_run(&due.cron, zone, now);
    // A schedule that can run no more (its owner left, its cron ends) stops, keeping its
    // settings; setting it again starts it.
    let stops = owner.is_none() || next_run_at.is_none();
    let txn = records::begin_write(db, &scope).await?;
    let moved = scope
        .update::<schedule::Entity>()
        .col_expr(
            schedule::Column::NextRunAt,
            Expr::value(next_run_at.unwrap_or(now)),
        )
        .col_expr(schedule::Column::LastRunAt, Expr::value(Some(now)))
        .col_expr(
            schedule::Column::LockedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(schedule::Column::Active, Expr::value(!stops))
        .filter(schedule::Column::Id.eq(due.id))
        .filter(schedule::Column::NextRunAt.eq(due.next_run_at))
        .filter(schedule::Column::Active.eq(true))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 0 {
        // Run meanwhile by another replica, or changed by a user: their run counts.
        txn.rollback().await?;
        return Ok(());
    }
    // Taken with the owner's rights, or failed for want of an owner: theirs either way.
    snapshots::store(
        &txn,
        &scope,
        due.report_id,
        Some(due.id),
        due.owner_id,
        taken,
    )
    .await?;
    txn.commit().await?;
    app.log_committed(&scope);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input(frequency: Frequency) -> ScheduleInput {
        ScheduleInput {
            frequency,
            time: None,
            weekday: None,
            day_of_month: None,
            cron: None,
            active: true,
        }
    }

    #[test]
    fn frequencies_stand_for_cron_expressions() {
        assert_eq!(cron_of(&input(Frequency::Daily)).unwrap(), "0 8 * * *");
        let weekly = ScheduleInput {
            time: Some("17:05".into()),
            weekday: Some(Weekday::Friday),
            ..input(Frequency::Weekly)
        };
        assert_eq!(cron_of(&weekly).unwrap(), "5 17 * * 5");
        let sunday = ScheduleInput {
            weekday: Some(Weekday::Sunday),
            ..input(Frequency::Weekly)
        };
        assert_eq!(cron_of(&sunday).unwrap(), "0 8 * * 7");
        let monthly = ScheduleInput {
            day_of_month: Some(28),
            time: Some("6:30".into()),
            ..input(Frequency::Monthly)
        };
        assert_eq!(cron_of(&monthly).unwrap(), "30 6 28 * *");
    }

    #[test]
    fn bad_times_days_and_expressions_are_refused_with_their_field() {
        for time in ["24:00", "8", "08:5", "aa:bb", "-1:00", "08:60"] {
            let bad = ScheduleInput {
                time: Some(time.into()),
                ..input(Frequency::Daily)
            };
            assert_eq!(
                cron_of(&bad).unwrap_err().field(),
                Some("schedule.time"),
                "{time}"
            );
        }
        for day in [0, 29, -1, i32::MAX] {
            let bad = ScheduleInput {
                day_of_month: Some(day),
                ..input(Frequency::Monthly)
            };
            assert_eq!(
                cron_of(&bad).unwrap_err().field(),
                Some("schedule.dayOfMonth")
            );
        }
        assert_eq!(
            cron_of(&input(Frequency::Cron)).unwrap_err().field(),
            Some("schedule.cron")
        );
        let now = Utc::now();
        for cron in [
            "",
            "* * *",
            "61 * * * *",
            "0 8 * * * *",
            "0 0 30 2 *",
            "0 * * * * 2030",
        ] {
            assert!(first_run(cron, Tz::UTC, now).is_err(), "{cron}");
        }
    }

    #[test]
    fn nothing_runs_more_than_once_an_hour() {
        let now = Utc::now();
        for cron in ["* * * * *", "*/30 * * * *", "0,59 9 * * *", "0,30 9 1 * *"] {
            let refused = first_run(cron, Tz::UTC, now).unwrap_err();
            assert!(refused.message().contains("once an hour"), "{cron}");
        }
        for cron in ["0 * * * *", "15 9-17 * * MON-FRI", "0 8 L * *", "0 0 1 1 *"] {
            assert!(first_run(cron, Tz::UTC, now).is_ok(), "{cron}");
        }
    }

    #[test]
    fn runs_are_reckoned_in_the_tenant_zone() {
        let jakarta: Tz = "Asia/Jakarta".parse().unwrap();
        // 08:00 in Jakarta (UTC+7) is 01:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let next = first_run("0 8 * * *", jakarta, now).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap());
        // From Tuesday 1 December, the next Monday is the 7th.
        let next = first_run("30 7 * * 1", Tz::UTC, now).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 7, 7, 30, 0).unwrap());
        let last = first_run("0 8 L * *", Tz::UTC, now).unwrap();
        assert_eq!(last, Utc.with_ymd_and_hms(2026, 12, 31, 8, 0, 0).unwrap());
    }
}
