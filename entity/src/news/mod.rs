//! The news service: memos on records, tenant-wide announcements, and comment threads.

pub mod comment;
pub mod note;
