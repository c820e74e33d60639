//! bpaas: Business Process as a Service.
//!
//! Data flows one way: HTTP/WebSocket ([`http`]) → GraphQL resolvers ([`graphql`]) → domain
//! modules ([`platform`], [`crm`], …) → sea-orm entities → database. Tenant scoping lives in
//! [`tenancy`], errors in [`error`], pagination in [`pagination`].

pub mod app;
pub mod auth;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod crm;
pub mod custom_fields;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod export;
pub mod filters;
pub mod graphql;
pub mod http;
pub mod import_jobs;
pub mod imports;
pub mod integrations;
pub mod metrics;
pub mod modules;
pub mod money;
pub mod news;
pub mod pagination;
pub mod payroll;
pub mod permissions;
pub mod picklists;
pub mod platform;
pub mod process;
pub mod records;
pub mod registry;
pub mod reports;
pub mod sales;
pub mod search;
pub mod sequences;
pub mod server;
pub mod support;
pub mod telemetry;
pub mod tenancy;
pub mod validation;
