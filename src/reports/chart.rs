//! A report's result drawn as an SVG chart by the server (plotters' SVG backend: text stays
//! text, no font files or browser needed): bars, lines, a pie or a funnel, with the same data
//! as `runReport`.

use plotters::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::{AppError, AppResult};

use super::definition::ReportKind;
use super::run::{Column, Outcome, cell_decimal, cell_text};
use super::sources::FieldKind;

/// The kinds of chart.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum, serde::Serialize, serde::Deserialize,
)]
#[graphql(name = "ChartType")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChartKind {
    Bar,
    Line,
    Pie,
    Funnel,
}

impl ChartKind {
    pub fn parse(name: &str) -> Option<ChartKind> {
        Some(match name {
            "bar" => ChartKind::Bar,
            "line" => ChartKind::Line,
            "pie" => ChartKind::Pie,
            "funnel" => ChartKind::Funnel,
            _ => return None,
        })
    }
}

/// Categories a chart shows at most: the report's first rows.
pub const MAX_CATEGORIES: u64 = 50;
const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;
/// Tableau 10: distinct, and readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// One line or set of bars: a value per category.
#[derive(Clone, Debug, PartialEq, async_graphql::SimpleObject)]
#[graphql(name = "ChartSeries")]
pub struct Series {
    pub label: String,
    pub values: Vec<Decimal>,
}

/// What a chart draws, taken from a report's result.
#[derive(Clone, Debug, PartialEq, async_graphql::SimpleObject)]
pub struct ChartData {
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// The measure's label, with the currency for money.
    pub axis: String,
    /// The currency code values are shown with, for money.
    pub currency: Option<String>,
}

/// The categories and values a chart of `outcome` shows: for a summary, its groups and one
/// aggregate (`measure`, else the first); for a matrix, one series per column value (pies and
/// funnels take the row totals); for a tabular report, the first column and a numeric one.
pub fn data(
    kind: ReportKind,
    outcome: &Outcome,
    chart: ChartKind,
    measure: Option<&str>,
    currency: &str,
) -> AppResult<ChartData> {
    let columns = &outcome.columns;
    let groups = match kind {
        ReportKind::Summary => columns.len() - outcome.totals.len(),
        _ => 1,
    };
    let categories: Vec<String> = outcome
        .rows
        .iter()
        .map(|row| {
            row[..groups.min(row.len())]
                .iter()
                .map(cell_text)
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect();
    let numeric = |c: &&Column| c.kind.is_numeric();
    let chosen: Vec<usize> = match kind {
        ReportKind::Matrix => {
            let single = chart == ChartKind::Pie || chart == ChartKind::Funnel;
            columns
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(_, c)| c.name.starts_with("total:") == single)
                .filter(|(_, c)| {
                    measure.is_none_or(|m| c.name.ends_with(m) || !c.name.contains(':'))
                })
                .map(|(i, _)| i)
                .take(if single { 1 } else { PALETTE.len() })
                .collect()
        }
        _ => {
            let found = columns
                .iter()
                .enumerate()
                .skip(groups)
                .find(|(_, c)| measure.map_or_else(|| numeric(c), |m| c.name == m));
            found.map(|(i, _)| vec![i]).unwrap_or_default()
        }
    };
    let Some(&first) = chosen.first() else {
        return Err(AppError::bad_input(
            "measure",
            match measure {
                Some(m) => format!("the report has no numeric column '{m}'"),
                None => "the report has no numeric column to draw".into(),
            },
        ));
    };
    if !columns[first].kind.is_numeric() {
        return Err(AppError::bad_input("measure", "pick a numeric column"));
    }
    let series = chosen
        .iter()
        .map(|&i| Series {
            label: columns[i].label.clone(),
            values: outcome
                .rows
                .iter()
                .map(|row| cell_decimal(&row[i]).unwrap_or_default())
                .collect(),
        })
        .collect();
    let money = is_money(&columns[first].name, columns[first].kind);
    let label = match kind {
        ReportKind::Matrix => columns[first]
            .label
            .rsplit(" · ")
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => columns[first].label.clone(),
    };
    Ok(ChartData {
        categories,
        series,
        axis: if money {
            format!("{label} ({currency})")
        } else {
            label
        },
        currency: money.then(|| currency.to_owned()),
    })
}

/// Whether a column (or total) named `name` holds money: a decimal that is not a quantity or
/// a rate.
pub fn is_money(name: &str, kind: FieldKind) -> bool {
    let name = name.to_lowercase();
    kind == FieldKind::Decimal
        && !["quantity", "rate", "percent", "level", "count", "hours"]
            .iter()
            .any(|word| name.contains(word))
}

/// `1234567.891` -> `1,234,567.89`.
pub fn format_value(value: Decimal) -> String {
    let rounded = value.round_dp(2).normalize();
    let text = rounded.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    match fraction {
        "" => format!("{sign}{grouped}"),
        f => format!("{sign}{grouped}.{f}"),
    }
}

fn shown(data: &ChartData, value: Decimal) -> String {
    match &data.currency {
        Some(code) => format!("{code} {}", format_value(value)),
        None => format_value(value),
    }
}

/// Category names on an axis are cut short to stay readable.
fn short(text: &str) -> String {
    const MAX: usize = 18;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn f64_of(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

fn drawing_failed<E: std::fmt::Debug>(err: E) -> AppError {
    AppError::internal(format!("chart could not be drawn: {err:?}"))
}

/// Draws `data` as SVG.
pub fn svg(data: &ChartData, chart: ChartKind, title: &str) -> AppResult<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_failed)?;
        let area = root
            .titled(title, ("sans-serif", 22))
            .map_err(drawing_failed)?;
        if data.categories.is_empty() {
            no_data(&area)?;
        } else {
            match chart {
                ChartKind::Bar | ChartKind::Line => axes(&area, data, chart)?,
                ChartKind::Pie => pie(&area, data)?,
                ChartKind::Funnel => funnel(&area, data)?,
            }
        }
        root.present().map_err(drawing_failed)?;
    }
    Ok(out)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Bars (grouped when there are several series) or lines over the categories.
fn axes(area: &Area, data: &ChartData, chart: ChartKind) -> AppResult<()> {
    let n = data.categories.len();
    let all = data.series.iter().flat_map(|s| s.values.iter().copied());
    let (low, high) = all.fold((0.0_f64, 0.0_f64), |(lo, hi), v| {
        (lo.min(f64_of(v)), hi.max(f64_of(v)))
    });
    let high = if high <= low { low + 1.0 } else { high * 1.1 };
    let low = if low < 0.0 { low * 1.1 } else { 0.0 };
    let mut ctx = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(110)
        .build_cartesian_2d(-0.5_f64..(n as f64 - 0.5), low..high)
        .map_err(drawing_failed)?;
    let category = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            short(&data.categories[i as usize])
        } else {
            String::new()
        }
    };
    let value_label = |y: &f64| format_value(Decimal::from_f64_retain(*y).unwrap_or_default());
    ctx.configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(25))
        .x_label_formatter(&category)
        .y_label_formatter(&value_label)
        .y_desc(data.axis.as_str())
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(drawing_failed)?;
    let width = 0.8 / data.series.len() as f64;
    for (s, series) in data.series.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let points = series
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, f64_of(*v)));
        let drawn = match chart {
            ChartKind::Line => ctx
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
                .map_err(drawing_failed)?,
            _ => ctx
                .draw_series(points.clone().map(|(x, y)| {
                    let left = x - 0.4 + width * s as f64;
                    Rectangle::new([(left, 0.0), (left + width, y)], color.filled())
                }))
                .map_err(drawing_failed)?,
        };
        drawn
            .label(series.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        if chart == ChartKind::Line {
            ctx.draw_series(points.map(|p| Circle::new(p, 4, color.filled())))
                .map_err(drawing_failed)?;
        }
    }
    if data.series.len() > 1 {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(drawing_failed)?;
    }
    Ok(())
}

fn no_data(area: &Area) -> AppResult<()> {
    area.draw(&Text::new(
        "No data",
        (WIDTH as i32 / 2 - 30, HEIGHT as i32 / 2 - 30),
        ("sans-serif", 18),
    ))
    .map_err(drawing_failed)
}

/// A pie of the first series' positive values, each slice labelled with its category, value
/// and share.
fn pie(area: &Area, data: &ChartData) -> AppResult<()> {
    let values: Vec<(usize, Decimal)> = data.series[0]
        .values
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_sign_positive() && !v.is_zero())
        .collect();
    if values.is_empty() {
        return no_data(area);
    }
    let total: Decimal = values.iter().map(|(_, v)| *v).sum();
    let sizes: Vec<f64> = values.iter().map(|(_, v)| f64_of(*v)).collect();
    let colors: Vec<RGBColor> = (0..values.len())
        .map(|i| PALETTE[i % PALETTE.len()])
        .collect();
    let labels: Vec<String> = values
        .iter()
        .map(|(i, v)| {
            let share = (*v * Decimal::from(100))
                .checked_div(total)
                .unwrap_or_default()
                .round_dp(1);
            format!(
                "{} {} ({share}%)",
                short(&data.categories[*i]),
                shown(data, *v)
            )
        })
        .collect();
    let (w, h) = area.dim_in_pixel();
    let center = (w as i32 / 2, h as i32 / 2);
    let radius = f64::from(w.min(h)) * 0.33;
    let mut chart = Pie::new(&center, &radius, &sizes, &colors, &labels);
    chart.start_angle(-90.0);
    chart.label_style(("sans-serif", 14).into_font().color(&BLACK));
    chart.label_offset(radius * 0.18);
    area.draw(&chart).map_err(drawing_failed)
}

/// A funnel: one centred bar per category, in the report's order, as wide as its value.
fn funnel(area: &Area, data: &ChartData) -> AppResult<()> {
    let values = &data.series[0].values;
    let max = values.iter().copied().fold(Decimal::ZERO, Decimal::max);
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let n = values.len() as i32;
    let step = (h - 40) / n.max(1);
    let full = f64::from(w - 80);
    for (i, (category, value)) in data.categories.iter().zip(values).enumerate() {
        let share = f64_of(*value).max(0.0) / f64_of(max).max(f64::MIN_POSITIVE);
        let half = ((full * share) / 2.0).max(2.0) as i32;
        let top = 20 + step * i as i32;
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&Rectangle::new(
            [(w / 2 - half, top), (w / 2 + half, top + step - 6)],
            color.filled(),
        ))
        .map_err(drawing_failed)?;
        let text = format!("{}: {}", short(category), shown(data, *value));
        let x = w / 2 - (text.chars().count() as i32 * 4);
        area.draw(&Text::new(
            text,
            (x, top + step / 2 - 10),
            ("sans-serif", 15).into_font().color(&BLACK),
        ))
        .map_err(drawing_failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_by_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(format_value(d("1234567.891")), "1,234,567.89");
        assert_eq!(format_value(d("-1000")), "-1,000");
        assert_eq!(format_value(d("999.5")), "999.5");
        assert_eq!(format_value(d("0")), "0");
    }
}
