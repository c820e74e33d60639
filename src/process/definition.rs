//! The process definition format and its validation. Pure: no database, no I/O.
//!
//! A definition body is JSON (see `docs/process-definition.md`):
//! states (exactly one initial, at least one final: reaching one completes the instance, and a
//! transition out of it reopens it) and transitions (name, from-states,
//! to-state, roles allowed, an optional CEL guard over `record`, `vars`, `input` and `user`,
//! input fields it requires, and variables it sets from CEL expressions).

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::modules::{self, Module, Subject};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Body {
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
    /// Timers on states: they start when an instance enters the state and stop when it leaves.
    #[serde(default)]
    pub timers: Vec<Timer>,
    /// `tickets`, `leads` or `opportunities`: each new record of the module starts an instance,
    /// and the record's status field mirrors the state.
    #[serde(default)]
    pub binding: Option<String>,
}

/// How a bound process drives the records of the module named `module`, if it can.
pub fn subject_named(module: &str) -> Option<&'static dyn Subject> {
    Module::parse(module).and_then(modules::subject)
}

/// After `after` (ISO 8601 duration, e.g. `PT4H`, `P2D`) in `state`, or at the moment `at`
/// names: fire `transition`, or mark the instance as in breach of its SLA.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timer {
    pub state: String,
    /// An ISO 8601 duration after entering the state…
    #[serde(default)]
    pub after: Option<String>,
    /// …or a moment taken from the record or variables: a CEL expression giving a date
    /// (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time, e.g. `record.expectedCloseDate`.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub transition: Option<String>,
    #[serde(default)]
    pub sla_breach: bool,
}

/// The longest timer a definition may set: timers are for business deadlines, and a bound keeps
/// `now + duration` far from the end of time.
pub const MAX_TIMER_DAYS: i64 = 3660;
/// The latest a created task may be due, in days from now.
pub const MAX_DUE_IN_DAYS: u32 = 3660;

/// Parses an ISO 8601 duration of days, hours, minutes and seconds (`P1DT2H30M`, `PT45S`),
/// positive and at most [`MAX_TIMER_DAYS`] long.
pub fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let rest = text.strip_prefix('P')?;
    let (days_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = chrono::Duration::zero();
    let mut parse_units = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let seconds = units.iter().find(|(u, _)| *u == c)?.1;
                let n: i64 = number.parse().ok()?;
                total =
                    total.checked_add(&chrono::Duration::try_seconds(n.checked_mul(seconds)?)?)?;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    parse_units(days_part, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(time) = time_part {
        if time.is_empty() {
            return None;
        }
        parse_units(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    (total > chrono::Duration::zero() && total <= chrono::Duration::days(MAX_TIMER_DAYS))
        .then_some(total)
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    pub name: String,
    #[serde(default)]
    pub initial: bool,
    #[serde(default, rename = "final")]
    pub is_final: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transition {
    pub name: String,
    pub from: Vec<String>,
    pub to: String,
    /// Roles that may fire it (lower-case role names); empty: any role.
    #[serde(default)]
    pub roles: Vec<String>,
    /// A CEL expression that must be true to fire.
    #[serde(default)]
    pub guard: Option<String>,
    /// Shown when the guard says no.
    #[serde(default)]
    pub guard_message: Option<String>,
    /// Input fields the caller must send.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Variables to set: name → CEL expression.
    #[serde(default)]
    pub set_variables: BTreeMap<String, String>,
    /// What else happens, in order, in the same transaction.
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// Something a transition does besides moving the state.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// Creates a task about the instance's record. `subject` and `assignee` (a user id) are
    /// CEL; without an assignee, the task goes to whoever fired the transition.
    /// `assigneeRole` gives it instead to the longest-standing active user with that role.
    #[serde(rename_all = "camelCase")]
    CreateTask {
        subject: String,
        #[serde(default)]
        due_in_days: Option<u32>,
        #[serde(default)]
        assignee: Option<String>,
        #[serde(default)]
        assignee_role: Option<String>,
    },
    /// Starts the latest version of another definition about the same record.
    #[serde(rename_all = "camelCase")]
    StartProcess { key: String },
    /// Writes a named event to the log, for partners and subscribers.
    #[serde(rename_all = "camelCase")]
    Emit { event: String },
    /// Sets a field of the instance's record (a ticket, lead or opportunity) to the value of a
    /// CEL expression, validated like any update. The status belongs to the process.
    #[serde(rename_all = "camelCase")]
    SetField { field: String, value: String },
    /// Creates a related record: a note on the instance's record. `title` and `body` are CEL.
    #[serde(rename_all = "camelCase")]
    CreateNote { title: String, body: String },
    /// Converts the instance's quote or sales order into a new `salesOrders` or `invoices`
    /// document, linked to it; with `status`, then moves the new document there (through its
    /// own process when one runs it).
    #[serde(rename_all = "camelCase")]
    Convert {
        to: String,
        #[serde(default)]
        status: Option<String>,
    },
}

/// One thing wrong with a definition, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The variables a CEL expression may use.
pub const ROOTS: [&str; 5] = ["record", "vars", "input", "user", "settings"];

impl Body {
    pub fn initial(&self) -> Option<&State> {
        self.states.iter().find(|s| s.initial)
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
    }

    pub fn transition(&self, name: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.name == name)
    }
}

fn valid_name(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= 100
}

/// Checks a CEL expression compiles and uses only the known roots.
pub fn check_expression(source: &str) -> Result<(), String> {
    let program = cel::Program::compile(source).map_err(|e| format!("does not parse: {e}"))?;
    let references = program.references();
    let unknown: Vec<&str> = references
        .variables()
        .into_iter()
        .filter(|v| !ROOTS.contains(v))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "uses unknown variables {}; use record, vars, input and user",
            unknown.join(", ")
        ))
    }
}

/// Parses and checks a definition body, returning every problem at once.
pub fn validate(body: &serde_json::Value) -> Result<Body, Vec<Problem>> {
    let body: Body = serde_json::from_value(body.clone()).map_err(|e| {
        vec![Problem {
            path: "body".into(),
            message: format!("not a process definition: {e}"),
        }]
    })?;
    let mut problems = Vec::new();
    let mut problem = |path: String, message: &str| {
        problems.push(Problem {
            path,
            message: message.to_owned(),
        })
    };

    let mut names = HashSet::new();
    for (i, state) in body.states.iter().enumerate() {
        if !valid_name(&state.name) {
            problem(
                format!("states[{i}].name"),
                "give a name of 1 to 100 characters",
            );
        } else if !names.insert(state.name.as_str()) {
            problem(format!("states[{i}].name"), "another state has this name");
        }
    }
    match body.states.iter().filter(|s| s.initial).count() {
        1 => {}
        0 => problem(
            "states".into(),
            "mark exactly one state as initial; none is",
        ),
        _ => problem(
            "states".into(),
            "mark exactly one state as initial; several are",
        ),
    }
    if !body.states.iter().any(|s| s.is_final) {
        problem("states".into(), "mark at least one state as final");
    }

    let mut transition_names = HashSet::new();
    for (i, t) in body.transitions.iter().enumerate() {
        let at = format!("transitions[{i}]");
        if !valid_name(&t.name) {
            problem(format!("{at}.name"), "give a name of 1 to 100 characters");
        } else if !transition_names.insert(t.name.as_str()) {
            problem(format!("{at}.name"), "another transition has this name");
        }
        if t.from.is_empty() {
            problem(
                format!("{at}.from"),
                "give at least one state to start from",
            );
        }
        for (j, from) in t.from.iter().enumerate() {
            // Leaving a final state reopens a completed instance (a reopened ticket).
            if body.state(from).is_none() {
                problem(format!("{at}.from[{j}]"), "no such state");
            }
        }
        if body.state(&t.to).is_none() {
            problem(format!("{at}.to"), "no such state");
        }
        for (j, role) in t.roles.iter().enumerate() {
            if Role::parse(role).is_none() {
                problem(
                    format!("{at}.roles[{j}]"),
                    "no such role (admin, manager, sales, support, viewer)",
                );
            }
        }
        if let Some(guard) = &t.guard
            && let Err(message) = check_expression(guard)
        {
            problem(format!("{at}.guard"), &message);
        }
        for (name, expression) in &t.set_variables {
            if let Err(message) = check_expression(expression) {
                problem(format!("{at}.setVariables.{name}"), &message);
            }
        }
        for (j, action) in t.actions.iter().enumerate() {
            let path = format!("{at}.actions[{j}]");
            match action {
                Action::CreateTask {
                    subject,
                    assignee,
                    assignee_role,
                    due_in_days,
                } => {
                    if due_in_days.is_some_and(|d| d > MAX_DUE_IN_DAYS) {
                        problem(
                            format!("{path}.createTask.dueInDays"),
                            &format!("at most {MAX_DUE_IN_DAYS}"),
                        );
                    }
                    if assignee.is_some() && assignee_role.is_some() {
                        problem(
                            format!("{path}.createTask"),
                            "give assignee or assigneeRole, not both",
                        );
                    }
                    if assignee_role
                        .as_deref()
                        .is_some_and(|r| Role::parse(r).is_none())
                    {
                        problem(format!("{path}.createTask.assigneeRole"), "no such role");
                    }
                    for (name, source) in
                        [("subject", Some(subject)), ("assignee", assignee.as_ref())]
                    {
                        if let Some(Err(message)) = source.map(|s| check_expression(s)) {
                            problem(format!("{path}.createTask.{name}"), &message);
                        }
                    }
                }
                Action::SetField { field, value } => {
                    if let Err(message) = check_expression(value) {
                        problem(format!("{path}.setField.value"), &message);
                    }
                    // With a binding we know the record's module, so its fields.
                    if let Some(module) = &body.binding
                        && !subject_named(module)
                            .is_some_and(|s| s.settable_fields().contains(&field.as_str()))
                    {
                        problem(
                            format!("{path}.setField.field"),
                            &format!("{module} have no field '{field}' a process may set"),
                        );
                    }
                }
                Action::CreateNote { title, body } => {
                    for (name, source) in [("title", title), ("body", body)] {
                        if let Err(message) = check_expression(source) {
                            problem(format!("{path}.createNote.{name}"), &message);
                        }
                    }
                }
                Action::StartProcess { key } if key.trim().is_empty() => {
                    problem(
                        format!("{path}.startProcess.key"),
                        "name the definition to start",
                    );
                }
                Action::Convert { to, .. }
                    if !["salesOrders", "invoices"].contains(&to.as_str()) =>
                {
                    problem(
                        format!("{path}.convert.to"),
                        "converts to salesOrders or invoices",
                    );
                }
                Action::Emit { event } if event.trim().is_empty() || event.len() > 100 => {
                    problem(
                        format!("{path}.emit.event"),
                        "give the event a name of 1 to 100 characters",
                    );
                }
                _ => {}
            }
        }
    }

    for (i, timer) in body.timers.iter().enumerate() {
        let at = format!("timers[{i}]");
        match body.state(&timer.state) {
            None => problem(format!("{at}.state"), "no such state"),
            Some(s) if s.is_final => problem(format!("{at}.state"), "a final state has no timers"),
            Some(_) => {}
        }
        match (&timer.after, &timer.at) {
            (Some(after), None) => {
                if parse_duration(after).is_none() {
                    problem(
                        format!("{at}.after"),
                        "not an ISO 8601 duration such as PT4H or P2D, of at most 3660 days",
                    );
                }
            }
            (None, Some(moment)) => {
                if let Err(message) = check_expression(moment) {
                    problem(format!("{at}.at"), &message);
                }
            }
            _ => problem(
                at.clone(),
                "give either after (a duration) or at (a moment)",
            ),
        }
        match (&timer.transition, timer.sla_breach) {
            (Some(name), false) => {
                let leaves = body
                    .transition(name)
                    .is_some_and(|t| t.from.contains(&timer.state));
                if !leaves {
                    problem(
                        format!("{at}.transition"),
                        "no transition of that name leaves this state",
                    );
                }
            }
            (None, true) => {}
            _ => problem(at, "give either a transition to fire or slaBreach: true"),
        }
    }

    if let Some(module) = &body.binding
        && subject_named(module).is_none()
    {
        let bindable: Vec<&str> = Module::ALL
            .into_iter()
            .filter(|m| modules::subject(*m).is_some())
            .map(Module::as_str)
            .collect();
        problem(
            "binding".into(),
            &format!("only these modules can be bound: {}", bindable.join(", ")),
        );
    }

    // Every state must be reachable from the initial one, and every non-final state must
    // lead somewhere: a process must be able to finish.
    if let Some(initial) = body.initial() {
        let mut reached: HashSet<&str> = HashSet::from([initial.name.as_str()]);
        let mut queue = VecDeque::from([initial.name.as_str()]);
        while let Some(state) = queue.pop_front() {
            for t in body
                .transitions
                .iter()
                .filter(|t| t.from.iter().any(|f| f == state))
            {
                if reached.insert(t.to.as_str()) {
                    queue.push_back(t.to.as_str());
                }
            }
        }
        for (i, state) in body.states.iter().enumerate() {
            if !reached.contains(state.name.as_str()) {
                problem(format!("states[{i}]"), "unreachable from the initial state");
            }
        }
    }
    for (i, state) in body.states.iter().enumerate() {
        let leaves = body
            .transitions
            .iter()
            .any(|t| t.from.contains(&state.name));
        if !state.is_final && !leaves {
            problem(
                format!("states[{i}]"),
                "a dead end: not final, and no transition leaves it",
            );
        }
    }

    if problems.is_empty() {
        Ok(body)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ticket_lifecycle() -> serde_json::Value {
        json!({
            "states": [
                { "name": "Open", "initial": true },
                { "name": "In Progress" },
                { "name": "Closed", "final": true }
            ],
            "transitions": [
                { "name": "start", "from": ["Open"], "to": "In Progress", "roles": ["support"] },
                { "name": "close", "from": ["Open", "In Progress"], "to": "Closed",
                  "guard": "size(input.resolution) > 0", "requires": ["resolution"],
                  "setVariables": { "resolution": "input.resolution" } }
            ]
        })
    }

    #[test]
    fn a_sound_definition_passes() {
        let body = validate(&ticket_lifecycle()).unwrap();
        assert_eq!(body.initial().unwrap().name, "Open");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let body = json!({
            "states": [
                { "name": "Open", "initial": true },
                { "name": "Open" },
                { "name": "Limbo" },
                { "name": "Orphan", "final": true },
                { "name": "Done", "final": true }
            ],
            "transitions": [
                { "name": "go", "from": ["Open"], "to": "Limbo", "roles": ["wizard"], "guard": "secret == 1" },
                { "name": "go", "from": ["Nowhere"], "to": "Done", "guard": "input.x >" },
                { "name": "out", "from": ["Done"], "to": "Open", "setVariables": { "y": "mystery + 1" } }
            ]
        });
        let problems = validate(&body).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "states[1].name",
            "transitions[0].roles[0]",
            "transitions[0].guard",
            "transitions[1].name",
            "transitions[1].from[0]",
            "transitions[1].guard",
            "transitions[2].setVariables.y",
            "states[2]",
            "states[3]",
        ] {
            assert!(
                paths.contains(&expected),
                "missing {expected} in {problems:?}"
            );
        }
    }

    #[test]
    fn actions_are_checked_against_the_binding() {
        crate::registry::install();
        let mut body = ticket_lifecycle();
        body["binding"] = json!("tickets");
        body["transitions"][0]["actions"] = json!([
            { "setField": { "field": "salary", "value": "1" } },
            { "setField": { "field": "priority", "value": "'High'" } },
            { "createTask": { "subject": "'x'", "assigneeRole": "wizard" } }
        ]);
        let problems = validate(&body).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "transitions[0].actions[0].setField.field",
                "transitions[0].actions[2].createTask.assigneeRole"
            ]
        );
    }

    #[test]
    fn durations_follow_iso_8601() {
        assert_eq!(parse_duration("PT4H"), Some(chrono::Duration::hours(4)));
        assert_eq!(
            parse_duration("P1DT2H30M"),
            Some(chrono::Duration::minutes(24 * 60 + 150))
        );
        assert_eq!(parse_duration("PT1S"), Some(chrono::Duration::seconds(1)));
        assert_eq!(parse_duration("P2W"), Some(chrono::Duration::days(14)));
        for bad in ["", "P", "PT", "4H", "PT4X", "P1H", "PT0S", "PT-1S"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn timers_must_fit_the_states() {
        let mut body = ticket_lifecycle();
        body["timers"] = json!([
            { "state": "Open", "after": "PT4H", "slaBreach": true },
            { "state": "In Progress", "after": "P2D", "transition": "close" },
            { "state": "Closed", "after": "soon", "transition": "start" },
            { "state": "Open", "after": "PT1H" },
            { "state": "Open", "slaBreach": true },
            { "state": "Open", "at": "record.dueDate +", "slaBreach": true }
        ]);
        let problems = validate(&body).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "timers[2].state",
                "timers[2].after",
                "timers[2].transition",
                "timers[3]",
                "timers[4]",
                "timers[5].at"
            ]
        );
    }

    #[test]
    fn structure_is_checked_before_anything_else() {
        let problems = validate(&json!({ "states": "many" })).unwrap_err();
        assert_eq!(problems[0].path, "body");
        let problems =
            validate(&json!({ "states": [{ "name": "A" }], "transitions": [] })).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains("initial")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("final")), "{messages:?}");
    }
}
