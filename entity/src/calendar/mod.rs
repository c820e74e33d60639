//! The corporate calendar: events (meetings, calls) with invitees and recurrence, and tasks.

pub mod event;
pub mod event_invitee;
pub mod task;
