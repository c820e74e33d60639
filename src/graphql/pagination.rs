//! Relay connections built from domain pages.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Object, OutputType, Result};

use crate::pagination::{Page, PageArgs, Total};

pub struct ConnectionTotals {
    total: Total,
}

#[Object]
impl ConnectionTotals {
    /// Matching records in all pages.
    async fn total_count(&self) -> Result<u64> {
        Ok(self.total.get().await?)
    }
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
            total: page.total_count,
        },
    );
    connection.edges = page
        .items
        .into_iter()
        .map(|(cursor, item)| Edge::new(cursor, to_node(item)))
        .collect();
    connection
}
