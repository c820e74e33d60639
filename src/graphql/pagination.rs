//! Relay connections built from domain pages.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};

use crate::pagination::{Page, PageArgs};

#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Matching records in all pages.
    pub total_count: u64,
}

pub type Connected<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageArgs {
    PageArgs {
        first,
        after,
        last,
        before,
    }
}

pub fn connection<M, N: OutputType>(page: Page<M>, to_node: impl Fn(M) -> N) -> Connected<N> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        ConnectionTotals {
            total_count: page.total_count,
        },
    );
    connection.edges = page
        .items
        .into_iter()
        .map(|(cursor, item)| Edge::new(cursor, to_node(item)))
        .collect();
    connection
}
