//! Integration tests: one binary, many modules, each test with its own server and database.

mod common;

mod auth;
mod calendar;
mod changes;
mod cli;
mod crm;
mod custom_fields;
mod documents;
mod exports;
mod hardening;
mod http;
mod imports;
mod integrations;
mod lifecycle;
mod news;
mod payroll;
mod permissions;
mod pipeline;
mod process;
mod report_schedules;
mod reports;
mod sales;
mod service;
mod startup;
mod tenancy;
mod users;
mod ws;
