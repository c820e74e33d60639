//! Checks every document before it runs, with the schema's types at hand:
//!
//! - **cost**: each field costs 1 plus the cost of its children times how many of them can
//!   come back: a connection's page size (`first`/`last`, else the default page size), an
//!   estimate for other lists, 1 for a single object. Introspection is free (it reads memory).
//! - **aliases**: at most a configured number per document, so that one request cannot repeat
//!   an expensive field hundreds of times under different names.
//! - **NUL characters** (U+0000) in any text argument or variable: PostgreSQL cannot store
//!   them, and no business text needs them. Refused with BAD_USER_INPUT naming the input.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{
    ErrorExtensionValues, ObjectType, Request, ServerError, ServerResult, SubscriptionType, Value,
    Variables,
};

use super::error::CODE_VALIDATION_FAILED;
use crate::config::Limits;

/// How many items a list field without a page size is expected to return (a record's notes, a
/// document's lines): a documented estimate, since such lists are not paged.
pub const LIST_ESTIMATE: u64 = 10;
/// The deepest nesting of selections: the schema refuses deeper documents when it runs them
/// (its recursion limit is set to this), so the walk leaves those to it.
pub(super) const MAX_NESTING: usize = 32;

/// The checks run on a parsed document before it is executed. Not an async-graphql extension on
/// purpose: with any extension registered, async-graphql sends every field of every response
/// through the extension chain (a registry lookup and boxed futures per field), which cost a
/// list of 50 records more than its SQL.
pub struct RequestGuard {
    limits: Limits,
    /// The schema's types, to know which fields are lists or connections.
    registry: Registry,
}

impl RequestGuard {
    pub fn new<Query, Mutation, Subscription>(limits: &Limits) -> Self
    where
        Query: ObjectType,
        Mutation: ObjectType,
        Subscription: SubscriptionType,
    {
        let mut registry = Registry {
            query_type: Query::type_name().into_owned(),
            mutation_type: Some(Mutation::type_name().into_owned()),
            subscription_type: Some(Subscription::type_name().into_owned()),
            ..Default::default()
        };
        Query::create_type_info(&mut registry);
        Mutation::create_type_info(&mut registry);
        Subscription::create_type_info(&mut registry);
        Self {
            limits: limits.clone(),
            registry,
        }
    }

    /// Checks the request's document: cost, aliases, NUL characters. A document that does not
    /// parse is left to the execution, which reports it.
    pub fn check(&self, request: &mut Request) -> ServerResult<()> {
        let variables = std::mem::take(&mut request.variables);
        let checked = match request.parsed_query() {
            Ok(document) => self.check_document(document, &variables),
            Err(_) => Ok(()),
        };
        request.variables = variables;
        checked
    }

    fn check_document(
        &self,
        document: &ExecutableDocument,
        variables: &Variables,
    ) -> ServerResult<()> {
        for (name, value) in variables.iter() {
            if let Some(path) = nul_in(value, name.as_str()) {
                return Err(nul_error(&path));
            }
        }
        let mut walk = Walk {
            registry: &self.registry,
            document,
            variables,
            limits: &self.limits,
            aliases: 0,
            nul_at: None,
            too_deep: false,
            fragments: HashMap::new(),
        };
        let mut cost = 0u64;
        for (_, operation) in document.operations.iter() {
            let root = match operation.node.ty {
                async_graphql::parser::types::OperationType::Query => {
                    Some(walk.registry.query_type.as_str())
                }
                async_graphql::parser::types::OperationType::Mutation => {
                    walk.registry.mutation_type.as_deref()
                }
                async_graphql::parser::types::OperationType::Subscription => {
                    walk.registry.subscription_type.as_deref()
                }
            };
            let root = root.unwrap_or_default().to_owned();
            cost = cost.max(walk.selection(&operation.node.selection_set.node, &root, 0));
        }
        if walk.too_deep {
            return Ok(());
        }
        if let Some(path) = walk.nul_at {
            return Err(nul_error(&path));
        }
        if walk.aliases > self.limits.max_aliases {
            return Err(limit_error(format!(
                "Query has too many aliases ({}; at most {})",
                walk.aliases, self.limits.max_aliases
            )));
        }
        if cost > self.limits.query_complexity as u64 {
            return Err(limit_error(format!(
                "Query is too complex ({cost}; at most {}): ask for smaller pages or fewer fields",
                self.limits.query_complexity
            )));
        }
        Ok(())
    }
}

struct Walk<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: &'a Limits,
    aliases: usize,
    /// The first argument found holding a NUL character.
    nul_at: Option<String>,
    /// Nested past [`MAX_NESTING`]: refused when executed.
    too_deep: bool,
    /// Cost and aliases of each fragment already walked.
    fragments: HashMap<String, (u64, usize)>,
}

impl Walk<'_> {
    /// The cost of a selection set on the type named `on`.
    fn selection(&mut self, set: &SelectionSet, on: &str, nesting: usize) -> u64 {
        if nesting > MAX_NESTING {
            self.too_deep = true;
            return 0;
        }
        let mut cost = 0u64;
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => self.field(&field.node, on, nesting),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), nesting)
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or_else(|| on.to_owned(), |c| c.node.on.node.to_string());
                    self.selection(&inline.node.selection_set.node, &on, nesting + 1)
                }
            };
            cost = cost.saturating_add(part);
        }
        cost
    }

    /// A fragment's cost and aliases are computed once and counted at every spread, so that
    /// fragments spreading each other many times cannot make the walk itself explode.
    fn fragment(&mut self, name: &str, nesting: usize) -> u64 {
        if let Some((cost, aliases)) = self.fragments.get(name) {
            self.aliases = self.aliases.saturating_add(*aliases);
            return *cost;
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return 0;
        };
        let on = fragment.node.type_condition.node.on.node.to_string();
        let aliases_before = self.aliases;
        let cost = self.selection(&fragment.node.selection_set.node, &on, nesting + 1);
        let aliases = self.aliases.saturating_sub(aliases_before);
        self.fragments.insert(name.to_owned(), (cost, aliases));
        cost
    }

    fn field(&mut self, field: &Field, on: &str, nesting: usize) -> u64 {
        if field.alias.is_some() {
            self.aliases = self.aliases.saturating_add(1);
        }
        for (name, value) in &field.arguments {
            // Variables are checked on their own; a literal is checked as written.
            let literal = value
                .node
                .clone()
                .into_const_with(|_| Ok::<_, ()>(Value::Null));
            if self.nul_at.is_none()
                && let Ok(literal) = literal
            {
                self.nul_at = nul_in(&literal, name.node.as_str());
            }
        }
        let name = field.name.node.as_str();
        if name.starts_with("__") {
            return 1;
        }
        // An unknown field is left to validation, which refuses it.
        let Some(meta) = self
            .registry
            .types
            .get(on)
            .and_then(|t| t.field_by_name(name))
        else {
            return 1;
        };
        let children = if field.selection_set.node.items.is_empty() {
            0
        } else {
            let child_type = MetaTypeName::concrete_typename(&meta.ty);
            self.selection(&field.selection_set.node, child_type, nesting + 1)
        };
        let paged = meta.args.contains_key("first") || meta.args.contains_key("last");
        let multiplier = if paged {
            self.page_size(field)
        } else if MetaTypeName::create(&meta.ty).is_list() {
            // A connection's nodes and edges are its page, already counted.
            if on.ends_with("Connection") {
                1
            } else {
                LIST_ESTIMATE
            }
        } else {
            1
        };
        children.saturating_mul(multiplier).saturating_add(1)
    }

    /// The page a connection field asks for: its `first` or `last`, else the default.
    fn page_size(&self, field: &Field) -> u64 {
        let asked = field
            .arguments
            .iter()
            .filter(|(name, _)| matches!(name.node.as_str(), "first" | "last"))
            .filter_map(|(_, value)| {
                let value = value
                    .node
                    .clone()
                    .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                    .ok()?;
                match value {
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                }
            })
            .max();
        asked.unwrap_or(self.limits.default_page_size)
    }
}

/// The path of the first text in `value` holding a NUL character.
fn nul_in(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(path.to_owned()),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, &format!("{path}.{i}"))),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            if name.contains('\0') {
                return Some(path.to_owned());
            }
            nul_in(item, &format!("{path}.{name}"))
        }),
        _ => None,
    }
}

fn coded(message: String, code: &str, field: Option<&str>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    if let Some(field) = field {
        extensions.set("field", field);
    }
    error.extensions = Some(extensions);
    error
}

fn nul_error(path: &str) -> ServerError {
    coded(
        format!("{path}: text must not contain NUL characters"),
        "BAD_USER_INPUT",
        Some(path),
    )
}

fn limit_error(message: String) -> ServerError {
    coded(message, CODE_VALIDATION_FAILED, None)
}
