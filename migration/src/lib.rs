//! Schema migrations, one file per module step. They run on SQLite and PostgreSQL alike.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_platform;
mod m20261125_000002_records;
mod m20261125_000003_accounts_contacts;
mod m20261125_000004_leads_opportunities;
mod m20261125_000005_service;
mod m20261125_000006_news;
mod m20261125_000007_calendar;
mod m20261125_000008_custom_fields;
mod m20261125_000009_event_log;
mod m20261125_000010_processes;
mod m20261125_000011_process_timers;
mod m20261125_000012_process_binding;
mod m20261125_000013_products;
mod m20261125_000014_sales;
mod m20261130_000015_token_epoch;
mod m20261130_000016_event_recurrence_end;
mod m20261201_000017_payroll;
mod m20261201_000018_integrations;
mod m20261201_000019_import_jobs;
mod m20261201_000020_import_mappings;
mod m20261201_000021_webhook_filter;
mod m20261201_000022_reports;
mod m20261201_000023_dashboards;
mod m20261201_000024_report_schedules;
mod m20261201_000025_report_versions;
mod m20261201_000026_event_log_age;
mod m20261201_000027_tenant_disabled;
mod m20261201_000028_built_in_reports_offered;
mod m20261201_000029_tenant_references;
mod m20261202_000030_list_orders;
mod m20261202_000031_built_in_templates_offered;

pub use m20261201_000029_tenant_references::{REFERENCE_REFUSED, STILL_REFERRED_TO};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_platform::Migration),
            Box::new(m20261125_000002_records::Migration),
            Box::new(m20261125_000003_accounts_contacts::Migration),
            Box::new(m20261125_000004_leads_opportunities::Migration),
            Box::new(m20261125_000005_service::Migration),
            Box::new(m20261125_000006_news::Migration),
            Box::new(m20261125_000007_calendar::Migration),
            Box::new(m20261125_000008_custom_fields::Migration),
            Box::new(m20261125_000009_event_log::Migration),
            Box::new(m20261125_000010_processes::Migration),
            Box::new(m20261125_000011_process_timers::Migration),
            Box::new(m20261125_000012_process_binding::Migration),
            Box::new(m20261125_000013_products::Migration),
            Box::new(m20261125_000014_sales::Migration),
            Box::new(m20261130_000015_token_epoch::Migration),
            Box::new(m20261130_000016_event_recurrence_end::Migration),
            Box::new(m20261201_000017_payroll::Migration),
            Box::new(m20261201_000018_integrations::Migration),
            Box::new(m20261201_000019_import_jobs::Migration),
            Box::new(m20261201_000020_import_mappings::Migration),
            Box::new(m20261201_000021_webhook_filter::Migration),
            Box::new(m20261201_000022_reports::Migration),
            Box::new(m20261201_000023_dashboards::Migration),
            Box::new(m20261201_000024_report_schedules::Migration),
            Box::new(m20261201_000025_report_versions::Migration),
            Box::new(m20261201_000026_event_log_age::Migration),
            Box::new(m20261201_000027_tenant_disabled::Migration),
            Box::new(m20261201_000028_built_in_reports_offered::Migration),
            Box::new(m20261201_000029_tenant_references::Migration),
            Box::new(m20261202_000030_list_orders::Migration),
            Box::new(m20261202_000031_built_in_templates_offered::Migration),
        ]
    }
}
