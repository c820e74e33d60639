//! A definition drawn as a state diagram (SVG): states as boxes in layers from the initial one
//! down, transitions as labelled arrows, timers marked, final states double-framed, and the
//! live instances and SLA breaches of each state overlaid, as process monitors show them.
//!
//! The layout is a small layered one: back edges (those closing a cycle) are set aside, each
//! state goes one layer below the deepest state leading to it, and states in a layer are
//! ordered by where their predecessors are. Written by hand rather than with a charting crate:
//! it is boxes, curves and text.

use std::collections::BTreeMap;
use std::fmt::Write;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, FromQueryResult, QueryFilter, QuerySelect};

use entity::process::instance;

use super::definition::Body;
use super::instances::ACTIVE;
use super::published;
use crate::auth::Principal;
use crate::error::AppResult;

const BOX_W: i32 = 190;
const BOX_H: i32 = 58;
const H_GAP: i32 = 50;
const V_GAP: i32 = 96;
/// Room on the left for the channels of arrows that skip layers.
const MARGIN: i32 = 80;
const TOP: i32 = 70;

/// Where each state goes: its layer (row) and place in the row.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Per state, in definition order: (layer, position in the layer).
    pub places: Vec<(usize, usize)>,
    pub layers: usize,
    pub widest: usize,
}

/// An arrow between two states, with the names of the transitions it stands for.
struct Edge {
    from: usize,
    to: usize,
    label: String,
}

fn edges(body: &Body) -> Vec<Edge> {
    let index = |name: &str| body.states.iter().position(|s| s.name == name);
    let mut merged: BTreeMap<(usize, usize), Vec<&str>> = BTreeMap::new();
    for transition in &body.transitions {
        let Some(to) = index(&transition.to) else {
            continue;
        };
        for from in transition.from.iter().filter_map(|f| index(f)) {
            merged.entry((from, to)).or_default().push(&transition.name);
        }
    }
    merged
        .into_iter()
        .map(|((from, to), names)| Edge {
            from,
            to,
            label: names.join(", "),
        })
        .collect()
}

/// Lays the states out in layers (see the module's comment).
pub fn layout(body: &Body) -> Layout {
    let n = body.states.len();
    let edges = edges(body);
    // Depth-first from the initial state (then any state not reached), in definition order:
    // an edge to a state still on the path closes a cycle and does not count for layers.
    let initial = body.states.iter().position(|s| s.initial);
    let order: Vec<usize> = initial
        .into_iter()
        .chain((0..n).filter(|&i| Some(i) != initial))
        .collect();
    let mut state = vec![0_u8; n]; // 0 new, 1 on the path, 2 done
    let mut forward = vec![false; edges.len()];
    for &root in &order {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0_usize)];
        state[root] = 1;
        while let Some((node, next)) = stack.pop() {
            let outgoing: Vec<usize> = (0..edges.len())
                .filter(|&e| edges[e].from == node)
                .collect();
            if let Some(&e) = outgoing.get(next) {
                stack.push((node, next + 1));
                let to = edges[e].to;
                match state[to] {
                    0 => {
                        forward[e] = true;
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    2 => forward[e] = true,
                    _ => {}
                }
            } else {
                state[node] = 2;
            }
        }
    }
    // Longest path over the forward edges, in a topological order (Kahn).
    let mut layer = vec![0_usize; n];
    let mut incoming = vec![0_usize; n];
    for (e, edge) in edges.iter().enumerate() {
        if forward[e] {
            incoming[edge.to] += 1;
        }
    }
    let mut ready: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| incoming[i] == 0)
        .collect();
    ready.reverse();
    while let Some(node) = ready.pop() {
        for (e, edge) in edges.iter().enumerate() {
            if forward[e] && edge.from == node {
                layer[edge.to] = layer[edge.to].max(layer[node] + 1);
                incoming[edge.to] -= 1;
                if incoming[edge.to] == 0 {
                    ready.push(edge.to);
                }
            }
        }
    }
    let layers = layer.iter().max().map_or(0, |m| m + 1);
    // In each layer, states sit under the average place of their predecessors.
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for i in 0..n {
        rows[layer[i]].push(i);
    }
    let mut place = vec![0_usize; n];
    for row in &mut rows {
        let weight = |i: usize| -> f64 {
            let preds: Vec<f64> = edges
                .iter()
                .filter(|e| e.to == i && layer[e.from] < layer[i])
                .map(|e| place[e.from] as f64)
                .collect();
            if preds.is_empty() {
                i as f64
            } else {
                preds.iter().sum::<f64>() / preds.len() as f64
            }
        };
        let mut weighted: Vec<(f64, usize)> = row.iter().map(|&i| (weight(i), i)).collect();
        weighted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *row = weighted.into_iter().map(|(_, i)| i).collect();
        for (p, &i) in row.iter().enumerate() {
            place[i] = p;
        }
    }
    Layout {
        places: (0..n).map(|i| (layer[i], place[i])).collect(),
        layers,
        widest: rows.iter().map(Vec::len).max().unwrap_or(0),
    }
}

/// Live instances in a state, and how many of them breached its SLA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live {
    pub active: u64,
    pub breached: u64,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The definition as an SVG state diagram, with `live` figures per state name.
pub fn svg(body: &Body, title: &str, live: &BTreeMap<String, Live>) -> String {
    let layout = layout(body);
    let row_sizes: Vec<usize> = (0..layout.layers)
        .map(|l| layout.places.iter().filter(|p| p.0 == l).count())
        .collect();
    // Room on the right for arrows that go back up.
    let width = MARGIN * 2 + layout.widest.max(1) as i32 * (BOX_W + H_GAP) + 120;
    let height = TOP + layout.layers as i32 * (BOX_H + V_GAP) - V_GAP + 40;
    let position = |i: usize| -> (i32, i32) {
        let (layer, place) = layout.places[i];
        let row_width = row_sizes[layer] as i32 * (BOX_W + H_GAP) - H_GAP;
        let left = MARGIN + ((width - 120 - 2 * MARGIN) - row_width) / 2;
        (
            left + place as i32 * (BOX_W + H_GAP),
            TOP + layer as i32 * (BOX_H + V_GAP),
        )
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{x}" y="32" font-size="20" text-anchor="middle" fill="#222">{title}</text>
"##,
        x = width / 2,
        title = escape(title),
    );

    let lefts: Vec<i32> = (0..body.states.len()).map(|i| position(i).0).collect();
    let leftmost = lefts.iter().copied().min().unwrap_or(MARGIN);
    let rightmost = lefts.iter().copied().max().unwrap_or(MARGIN) + BOX_W;
    for (k, edge) in edges(body).iter().enumerate() {
        let (fx, fy) = position(edge.from);
        let (tx, ty) = position(edge.to);
        let (from_layer, to_layer) = (layout.places[edge.from].0, layout.places[edge.to].0);
        let (path, label_at) = if edge.from == edge.to {
            let (x, y) = (fx + BOX_W, fy + BOX_H / 2);
            (
                format!(
                    "M {x} {} C {} {} {} {} {x} {}",
                    y - 12,
                    x + 60,
                    y - 40,
                    x + 60,
                    y + 40,
                    y + 12
                ),
                (x + 52, y),
            )
        } else if to_layer > from_layer + 1 {
            // Down past other layers: out of the side facing the target, along a channel
            // beside the boxes (one lane per target), then into the target from above.
            let left = tx + BOX_W / 2 < fx + BOX_W / 2;
            let lane = (edge.to as i32 % 4) * 8;
            let (sx, channel) = if left {
                (fx, leftmost - 24 - lane)
            } else {
                (fx + BOX_W, rightmost + 24 + lane)
            };
            let sy = fy + BOX_H / 2 + (k as i32 % 3) * 6 - 6;
            let (ex, ey) = (tx + BOX_W / 2, ty);
            (
                format!("M {sx} {sy} H {channel} V {} H {ex} V {ey}", ey - 22),
                ((sx + channel) / 2, sy - 5),
            )
        } else if to_layer > from_layer {
            let (sx, sy) = (fx + BOX_W / 2, fy + BOX_H);
            let (ex, ey) = (tx + BOX_W / 2, ty);
            let bend = V_GAP / 2;
            (
                format!(
                    "M {sx} {sy} C {sx} {} {ex} {} {ex} {ey}",
                    sy + bend,
                    ey - bend
                ),
                // A quarter of the way: arrows from different states label apart.
                ((3 * sx + ex) / 4, sy + (ey - sy) / 4 + 4),
            )
        } else {
            // Back up (or across): around the right-hand side.
            let (sx, sy) = (fx + BOX_W, fy + BOX_H / 2);
            let (ex, ey) = (tx + BOX_W, ty + BOX_H / 2);
            let out_x = Ord::max(sx, ex) + 50 + (k as i32 % 4) * 14;
            (
                format!("M {sx} {sy} C {out_x} {sy} {out_x} {ey} {ex} {ey}"),
                (out_x - 6, (sy + ey) / 2),
            )
        };
        // About 7 pixels a character at this size: enough for a backing that keeps it legible.
        let label_width = edge.label.chars().count() as i32 * 7 + 6;
        let _ = writeln!(
            out,
            r##"<path d="{path}" fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>
<rect x="{}" y="{}" width="{}" height="15" fill="#ffffff" fill-opacity="0.85"/><text x="{}" y="{}" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            label_at.0 - label_width / 2,
            label_at.1 - 11,
            label_width,
            label_at.0,
            label_at.1,
            escape(&edge.label)
        );
    }

    for (i, state) in body.states.iter().enumerate() {
        let (x, y) = position(i);
        let fill = if state.is_final { "#eef5ea" } else { "#eaf1f8" };
        let stroke = if state.initial { "#1f4e79" } else { "#4e79a7" };
        let weight = if state.initial { 3 } else { 2 };
        let _ = writeln!(
            out,
            r##"<g class="state" data-state="{name}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{fill}" stroke="{stroke}" stroke-width="{weight}"/>"##,
            name = escape(&state.name)
        );
        if state.is_final {
            let _ = writeln!(
                out,
                r##"<rect x="{}" y="{}" width="{}" height="{}" rx="7" fill="none" stroke="{stroke}" stroke-width="1.5"/>"##,
                x + 4,
                y + 4,
                BOX_W - 8,
                BOX_H - 8
            );
        }
        if state.initial {
            let _ = writeln!(
                out,
                r##"<circle cx="{}" cy="{}" r="7" fill="#1f4e79"/><line x1="{0}" y1="{}" x2="{0}" y2="{y}" stroke="#1f4e79" stroke-width="2" marker-end="url(#arrow)"/>"##,
                x + BOX_W / 2,
                y - 24,
                y - 17,
            );
        }
        let timers: Vec<String> = body
            .timers
            .iter()
            .filter(|t| t.state == state.name)
            .map(|t| {
                let when = t.after.as_deref().or(t.at.as_deref()).unwrap_or_default();
                match (&t.transition, t.sla_breach) {
                    (_, true) => format!("SLA {when}"),
                    (Some(go), false) => format!("{when} → {go}"),
                    (None, false) => when.to_owned(),
                }
            })
            .collect();
        let name_y = if timers.is_empty() {
            y + BOX_H / 2 + 5
        } else {
            y + 24
        };
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{name_y}" font-size="14" text-anchor="middle" fill="#222">{}</text>"##,
            x + BOX_W / 2,
            escape(&state.name)
        );
        if !timers.is_empty() {
            let _ = writeln!(
                out,
                r##"<text class="timer" x="{}" y="{}" font-size="11" text-anchor="middle" fill="#7a4b00">⏱ {}</text>"##,
                x + BOX_W / 2,
                y + 44,
                escape(&timers.join("; "))
            );
        }
        let figures = live.get(&state.name).copied().unwrap_or_default();
        if figures.active > 0 {
            let _ = writeln!(
                out,
                r##"<g class="active"><circle cx="{}" cy="{y}" r="13" fill="#4e79a7"/><text x="{0}" y="{}" font-size="12" text-anchor="middle" fill="#ffffff">{}</text></g>"##,
                x + BOX_W - 6,
                y + 4,
                figures.active
            );
        }
        if figures.breached > 0 {
            let _ = writeln!(
                out,
                r##"<g class="breached"><circle cx="{}" cy="{y}" r="13" fill="#e15759"/><text x="{0}" y="{}" font-size="12" text-anchor="middle" fill="#ffffff">!{}</text></g>"##,
                x + BOX_W - 36,
                y + 4,
                figures.breached
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

#[derive(FromQueryResult)]
struct StateCount {
    state: String,
    sla_breached: bool,
    instances: i64,
}

/// The diagram of a definition (its latest version, or `version`) with its active instances.
pub async fn for_definition(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    version: Option<i32>,
) -> AppResult<String> {
    let definition = published::definition(db, actor, key, version).await?;
    let body = published::body_of(&definition)?;
    let counts = actor
        .scope()
        .select::<instance::Entity>()
        .filter(instance::Column::DefinitionKey.eq(key))
        .filter(instance::Column::DefinitionVersion.eq(definition.version))
        .filter(instance::Column::Status.eq(ACTIVE))
        .select_only()
        .column(instance::Column::State)
        .column(instance::Column::SlaBreached)
        .column_as(Expr::col(instance::Column::Id).count(), "instances")
        .group_by(instance::Column::State)
        .group_by(instance::Column::SlaBreached)
        .into_model::<StateCount>()
        .all(db)
        .await?;
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    for count in counts {
        let n = u64::try_from(count.instances).unwrap_or(0);
        let entry = live.entry(count.state).or_default();
        entry.active += n;
        if count.sla_breached {
            entry.breached += n;
        }
    }
    let title = format!("{} (v{})", definition.name, definition.version);
    Ok(svg(&body, &title, &live))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::templates::templates;

    fn body(json: serde_json::Value) -> Body {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn states_go_one_layer_below_the_deepest_state_leading_to_them() {
        let b = body(serde_json::json!({
            "states": [{ "name": "New", "initial": true }, { "name": "Open" }, { "name": "Waiting" },
                       { "name": "Closed", "final": true }],
            "transitions": [
                { "name": "open", "from": ["New"], "to": "Open" },
                { "name": "wait", "from": ["Open"], "to": "Waiting" },
                { "name": "resume", "from": ["Waiting"], "to": "Open" },
                { "name": "close", "from": ["New", "Open", "Waiting"], "to": "Closed" }
            ]
        }));
        let layout = layout(&b);
        let layers: Vec<usize> = layout.places.iter().map(|p| p.0).collect();
        // `resume` goes back up and does not push Open below Waiting.
        assert_eq!(layers, [0, 1, 2, 3]);
        assert_eq!(layout.layers, 4);
    }

    #[test]
    fn every_template_draws_without_overlapping_boxes() {
        crate::registry::install();
        for (key, name, json) in templates() {
            let b = body(json);
            let layout = layout(&b);
            let mut places = layout.places.clone();
            places.sort_unstable();
            places.dedup();
            assert_eq!(
                places.len(),
                b.states.len(),
                "{key}: two states in one place"
            );
            let drawn = svg(&b, name, &BTreeMap::new());
            assert_eq!(
                drawn.matches("class=\"state\"").count(),
                b.states.len(),
                "{key}"
            );
        }
    }
}
