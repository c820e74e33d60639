//! One employee's payslip for one period: pure, exact and deterministic. The pay run service
//! loads the inputs and stores the result; everything here can be tested with numbers alone.
//!
//! The order: base pay, the structure's components in dependency order, additional pay, BPJS
//! on the wage base, then PPh 21 (monthly TER, daily TER, or the annual Article 17 calculation
//! in the last period of the tax year) and the net.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::formula::{Formula, Val};
use super::rules::RuleSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(name = "PayComponentKind")]
pub enum Kind {
    /// Paid to the employee.
    Earning,
    /// Taken from the employee's pay.
    Deduction,
    /// Paid by the employer on top of the pay (BPJS shares, insurance).
    EmployerContribution,
    /// Computed and shown, never paid (a basis other components use).
    Statistical,
}

/// How a component's amount is rounded to whole currency units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rounding {
    /// Half a unit and more rounds up.
    Nearest,
    Down,
    Up,
}

impl Rounding {
    fn apply(self, amount: Decimal) -> Decimal {
        let strategy = match self {
            Rounding::Nearest => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        };
        amount.round_dp_with_strategy(0, strategy)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmploymentType {
    Permanent,
    /// Not permanent but paid monthly: the monthly TER applies.
    NonPermanentMonthly,
    /// Paid by the day (settled weekly or monthly): the daily TER applies and base pay is a day's.
    Daily,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayFrequency {
    Monthly,
    Weekly,
}

/// What a component is worth in a period.
#[derive(Clone, Debug)]
pub enum Amount {
    Fixed(Decimal),
    Formula(Formula),
}

/// A pay component as the calculation uses it.
#[derive(Clone, Debug)]
pub struct Component {
    pub code: String,
    pub name: String,
    pub kind: Kind,
    pub amount: Amount,
    /// The component applies only when this holds.
    pub condition: Option<Formula>,
    /// An earning or employer contribution in the PPh 21 gross; a deduction that reduces the
    /// annual net income (zakat paid through the employer).
    pub taxable: bool,
    /// Part of the BPJS wage base (base pay and fixed allowances; not THR, bonus, overtime).
    pub bpjs_base: bool,
    /// Scaled by days worked over days in the period.
    pub prorated: bool,
    pub rounding: Rounding,
}

impl Component {
    /// The names its formula and condition read.
    pub fn reads(&self) -> Vec<String> {
        let mut names = self
            .condition
            .as_ref()
            .map(Formula::names)
            .unwrap_or_default();
        if let Amount::Formula(formula) = &self.amount {
            names.extend(formula.names());
        }
        names
    }
}

/// The employee facts the calculation needs.
#[derive(Clone, Debug)]
pub struct Employee {
    pub employment_type: EmploymentType,
    pub tax_status: String,
    /// JKK risk group, 1 to 5.
    pub jkk_class: u8,
    pub hire_date: NaiveDate,
    pub termination_date: Option<NaiveDate>,
    /// What formulas see as `employee.<field>`.
    pub facts: HashMap<String, Val>,
}

#[derive(Clone, Copy, Debug)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub frequency: PayFrequency,
}

/// What earlier periods of the same tax year paid and withheld (approved and paid runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct YearToDate {
    pub gross: Decimal,
    /// The PPh 21 gross (taxable earnings and taxable employer contributions).
    pub taxable_gross: Decimal,
    pub pph21: Decimal,
    /// Employee contributions that reduce the annual net income (JHT, JP, zakat).
    pub deductible: Decimal,
    /// Monthly payslips so far (the biaya jabatan cap is per month worked).
    pub months: u32,
}

pub struct Input<'a> {
    pub rules: &'a RuleSet,
    pub employee: &'a Employee,
    pub period: Period,
    /// Per period, or per day for daily workers.
    pub base_pay: Decimal,
    /// The structure's components, in evaluation order (see [`evaluation_order`]).
    pub components: &'a [Component],
    /// One-off or recurring pay of the period: the component it is booked as and its amount.
    pub additional: &'a [(Component, Decimal)],
    /// Days worked when attendance says so; otherwise the days employed in the period.
    pub days_worked: Option<Decimal>,
    pub settings: &'a HashMap<String, Val>,
    pub year_to_date: &'a YearToDate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub code: String,
    pub name: String,
    pub kind: Kind,
    pub amount: Decimal,
    /// What the amount was computed from.
    pub inputs: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payslip {
    pub lines: Vec<Line>,
    pub days_worked: Decimal,
    pub days_in_period: Decimal,
    /// Cash earnings.
    pub gross: Decimal,
    /// The PPh 21 gross: taxable earnings plus taxable employer contributions.
    pub taxable_gross: Decimal,
    pub bpjs_employee: Decimal,
    pub bpjs_employer: Decimal,
    /// What this payslip adds to the year's deductible contributions.
    pub deductible: Decimal,
    /// Withheld this period; negative when the last period refunds over-withholding.
    pub pph21: Decimal,
    pub net: Decimal,
    /// TER_MONTHLY, TER_DAILY or ANNUAL.
    pub tax_method: &'static str,
}

/// Why a payslip cannot be calculated: the field it is about and the reason.
pub type Problem = (String, String);

/// Statutory lines are named by these codes; tenant components may not use them.
pub const RESERVED_CODES: [&str; 12] = [
    "BASIC",
    "BPJS_KES_ER",
    "BPJS_KES_EE",
    "JHT_ER",
    "JHT_EE",
    "JP_ER",
    "JP_EE",
    "JKK",
    "JKM",
    "PPH21",
    "GROSS",
    "NET",
];

/// The order to evaluate components in so that each reads only those before it, or the
/// cycle as a path (`A -> B -> A`). `reads` gives the component codes a component reads.
pub fn evaluation_order<'a>(
    codes: &[&'a str],
    reads: impl Fn(&str) -> Vec<String>,
) -> Result<Vec<&'a str>, String> {
    fn visit<'a>(
        code: &'a str,
        codes: &[&'a str],
        reads: &dyn Fn(&str) -> Vec<String>,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        if done.contains(&code) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|c| *c == code) {
            let mut cycle: Vec<&str> = path[start..].to_vec();
            cycle.push(code);
            return Err(cycle.join(" -> "));
        }
        path.push(code);
        for read in reads(code) {
            if let Some(next) = codes.iter().find(|c| **c == read) {
                visit(next, codes, reads, path, done)?;
            }
        }
        path.pop();
        done.push(code);
        Ok(())
    }
    let mut done = Vec::new();
    for code in codes {
        visit(code, codes, &reads, &mut Vec::new(), &mut done)?;
    }
    Ok(done)
}

fn overflow(field: &str) -> Problem {
    (field.to_owned(), "amount out of range".to_owned())
}

fn percent_of(amount: Decimal, rate: Decimal) -> Option<Decimal> {
    amount.checked_mul(rate)?.checked_div(Decimal::ONE_HUNDRED)
}

/// Sums amounts, failing on overflow.
fn total<'a>(mut amounts: impl Iterator<Item = &'a Decimal>) -> Option<Decimal> {
    amounts.try_fold(Decimal::ZERO, |sum, a| sum.checked_add(*a))
}

fn days(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days() + 1
}

/// Calculates one payslip.
pub fn calculate(input: &Input) -> Result<Payslip, Problem> {
    let Input {
        rules,
        employee,
        period,
        ..
    } = input;
    let employed_from = employee.hire_date.max(period.start);
    let employed_to = employee
        .termination_date
        .map_or(period.end, |t| t.min(period.end));
    if employed_to < employed_from {
        return Err(("employee".into(), "was not employed in the period".into()));
    }
    let days_in_period = Decimal::from(days(period.start, period.end));
    let days_worked = input
        .days_worked
        .unwrap_or_else(|| Decimal::from(days(employed_from, employed_to)));
    let daily = employee.employment_type == EmploymentType::Daily;
    let share = if daily {
        Decimal::ONE
    } else {
        days_worked
            .checked_div(days_in_period)
            .ok_or_else(|| overflow("daysWorked"))?
    };

    let mut env: HashMap<String, Val> = employee
        .facts
        .iter()
        .map(|(k, v)| (format!("employee.{k}"), v.clone()))
        .chain(
            input
                .settings
                .iter()
                .map(|(k, v)| (format!("settings.{k}"), v.clone())),
        )
        .collect();
    env.insert("base".into(), Val::Num(input.base_pay));
    env.insert("daysWorked".into(), Val::Num(days_worked));
    env.insert("daysInPeriod".into(), Val::Num(days_in_period));

    let mut lines = Vec::new();
    let mut bpjs_wage = Decimal::ZERO;
    let mut taxable = Decimal::ZERO;
    let mut deductible = Decimal::ZERO;

    // Base pay: a day's pay times the days for daily workers, else the period's, prorated.
    let basic_factor = if daily { days_worked } else { share };
    let basic = input
        .base_pay
        .checked_mul(basic_factor)
        .map(|b| Rounding::Nearest.apply(b))
        .ok_or_else(|| overflow("basePay"))?;
    env.insert("BASIC".into(), Val::Num(basic));
    lines.push(Line {
        code: "BASIC".into(),
        name: "Base pay".into(),
        kind: Kind::Earning,
        amount: basic,
        inputs: json!({ "basePay": input.base_pay, "daysWorked": days_worked, "daysInPeriod": days_in_period }),
    });
    bpjs_wage += basic;
    taxable += basic;

    let mut book =
        |component: &Component, amount: Decimal, inputs: Value, lines: &mut Vec<Line>| {
            let field = || overflow(&component.code);
            match component.kind {
                Kind::Earning => {
                    if component.bpjs_base {
                        bpjs_wage = bpjs_wage.checked_add(amount).ok_or_else(field)?;
                    }
                    if component.taxable {
                        taxable = taxable.checked_add(amount).ok_or_else(field)?;
                    }
                }
                Kind::EmployerContribution if component.taxable => {
                    taxable = taxable.checked_add(amount).ok_or_else(field)?;
                }
                Kind::Deduction if component.taxable => {
                    deductible = deductible.checked_add(amount).ok_or_else(field)?;
                }
                _ => {}
            }
            if !amount.is_zero() {
                lines.push(Line {
                    code: component.code.clone(),
                    name: component.name.clone(),
                    kind: component.kind,
                    amount,
                    inputs,
                });
            }
            Ok::<(), Problem>(())
        };

    for component in input.components {
        let field = || format!("components.{}", component.code);
        let applies = match &component.condition {
            Some(condition) => condition.holds(&env).map_err(|e| (field(), e))?,
            None => true,
        };
        let raw = match (&component.amount, applies) {
            (_, false) => Decimal::ZERO,
            (Amount::Fixed(amount), true) => *amount,
            (Amount::Formula(formula), true) => formula.number(&env).map_err(|e| (field(), e))?,
        };
        let scaled = if component.prorated {
            raw.checked_mul(share).ok_or_else(|| overflow(&field()))?
        } else {
            raw
        };
        let amount = component.rounding.apply(scaled);
        env.insert(component.code.clone(), Val::Num(amount));
        let inputs = match &component.amount {
            Amount::Formula(formula) => json!(
                formula
                    .names()
                    .into_iter()
                    .filter_map(|n| env.get(&n).map(|v| (n, val_json(v))))
                    .collect::<serde_json::Map<_, _>>()
            ),
            Amount::Fixed(_) => json!({ "fixed": raw }),
        };
        let inputs = if component.prorated {
            json!({ "amount": inputs, "prorated": share })
        } else {
            inputs
        };
        book(component, amount, inputs, &mut lines)?;
    }
    for (component, amount) in input.additional {
        book(
            component,
            *amount,
            json!({ "additionalPay": amount }),
            &mut lines,
        )?;
    }

    // BPJS on the wage base, each program's rates and cap as of the period's last day.
    let jkk = format!("JKK{}", employee.jkk_class);
    let mut bpjs_employee = Decimal::ZERO;
    let mut bpjs_employer = Decimal::ZERO;
    for (program, employer_code, employee_code, taxable_employer, deductible_employee) in [
        ("KESEHATAN", "BPJS_KES_ER", "BPJS_KES_EE", true, false),
        ("JHT", "JHT_ER", "JHT_EE", false, true),
        ("JP", "JP_ER", "JP_EE", false, true),
        (jkk.as_str(), "JKK", "", true, false),
        ("JKM", "JKM", "", true, false),
    ] {
        let Some(rate) = rules.bpjs(program, period.end) else {
            continue;
        };
        let wage = rate.wage_cap.map_or(bpjs_wage, |cap| bpjs_wage.min(cap));
        let inputs = json!({ "wage": wage, "cap": rate.wage_cap });
        for (code, rate, kind) in [
            (
                employer_code,
                rate.employer_rate,
                Kind::EmployerContribution,
            ),
            (employee_code, rate.employee_rate, Kind::Deduction),
        ] {
            if rate.is_zero() {
                continue;
            }
            let amount = percent_of(wage, rate)
                .map(|a| Rounding::Nearest.apply(a))
                .ok_or_else(|| overflow(code))?;
            let mut inputs = inputs.clone();
            inputs["ratePercent"] = json!(rate);
            lines.push(Line {
                code: code.into(),
                name: format!("BPJS {program}"),
                kind,
                amount,
                inputs,
            });
            let add = |sum: &mut Decimal| -> Result<(), Problem> {
                *sum = sum.checked_add(amount).ok_or_else(|| overflow(code))?;
                Ok(())
            };
            if kind == Kind::EmployerContribution {
                add(&mut bpjs_employer)?;
                if taxable_employer {
                    add(&mut taxable)?;
                }
            } else {
                add(&mut bpjs_employee)?;
                if deductible_employee {
                    add(&mut deductible)?;
                }
            }
        }
    }

    let (pph21, tax_method, tax_inputs) = income_tax(input, taxable, deductible, days_worked)?;
    lines.push(Line {
        code: "PPH21".into(),
        name: "PPh 21".into(),
        kind: Kind::Deduction,
        amount: pph21,
        inputs: tax_inputs,
    });

    let sum = |kind: Kind| total(lines.iter().filter(|l| l.kind == kind).map(|l| &l.amount));
    let gross = sum(Kind::Earning).ok_or_else(|| overflow("gross"))?;
    let deductions = sum(Kind::Deduction).ok_or_else(|| overflow("net"))?;
    let net = gross
        .checked_sub(deductions)
        .ok_or_else(|| overflow("net"))?;
    Ok(Payslip {
        lines,
        days_worked,
        days_in_period,
        gross,
        taxable_gross: taxable,
        bpjs_employee,
        bpjs_employer,
        deductible,
        pph21,
        net,
        tax_method,
    })
}

/// PPh 21 for the period: the tax, the method and what it was computed from.
fn income_tax(
    input: &Input,
    taxable: Decimal,
    deductible: Decimal,
    days_worked: Decimal,
) -> Result<(Decimal, &'static str, Value), Problem> {
    let Input {
        rules,
        employee,
        period,
        ..
    } = input;
    let status = employee.tax_status.as_str();
    let category = rules.ter_category(status).ok_or_else(|| {
        (
            "employee.taxStatus".to_owned(),
            format!("{status} has no TER category in the rule set"),
        )
    })?;
    let tax_overflow = || overflow("pph21");
    let whole = |amount: Decimal| amount.round_dp_with_strategy(0, RoundingStrategy::ToZero);

    if employee.employment_type == EmploymentType::Daily || period.frequency == PayFrequency::Weekly
    {
        if days_worked <= Decimal::ZERO {
            return Ok((
                Decimal::ZERO,
                "TER_DAILY",
                json!({ "daysWorked": days_worked }),
            ));
        }
        let daily_gross = taxable.checked_div(days_worked).ok_or_else(tax_overflow)?;
        let row = rules.ter_daily_row(daily_gross);
        let tax = match row.and_then(|r| r.rate) {
            Some(rate) => percent_of(taxable, rate),
            None if row.is_some() => {
                // Above the daily TER rows: Article 17 rates on half of each day's gross.
                let per_day = rules.article17(daily_gross / Decimal::TWO);
                per_day.and_then(|t| t.checked_mul(days_worked))
            }
            None => Some(Decimal::ZERO),
        }
        .ok_or_else(tax_overflow)?;
        let inputs = json!({ "dailyGross": daily_gross, "daysWorked": days_worked,
            "ratePercent": row.and_then(|r| r.rate) });
        return Ok((whole(tax), "TER_DAILY", inputs));
    }

    let terminated = employee
        .termination_date
        .is_some_and(|t| t >= period.start && t <= period.end);
    if period.end.month() != 12 && !terminated {
        let rate = rules.ter_monthly_rate(category, taxable);
        let tax = percent_of(taxable, rate).ok_or_else(tax_overflow)?;
        let inputs = json!({ "category": category, "gross": taxable, "ratePercent": rate });
        return Ok((whole(tax), "TER_MONTHLY", inputs));
    }

    // The last period of the tax year: the year's tax by Article 17, less what was withheld.
    let ytd = input.year_to_date;
    let annual_gross = ytd
        .taxable_gross
        .checked_add(taxable)
        .ok_or_else(tax_overflow)?;
    let months = Decimal::from(ytd.months.saturating_add(1).min(12));
    let occupational_cost = percent_of(annual_gross, rules.occupational_cost_rate)
        .zip(rules.occupational_cost_monthly_cap.checked_mul(months))
        .map(|(cost, cap)| cost.min(cap))
        .ok_or_else(tax_overflow)?;
    let contributions = ytd
        .deductible
        .checked_add(deductible)
        .ok_or_else(tax_overflow)?;
    let net_income = annual_gross
        .checked_sub(occupational_cost)
        .and_then(|n| n.checked_sub(contributions))
        .ok_or_else(tax_overflow)?;
    let ptkp = rules.ptkp_of(status).ok_or_else(|| {
        (
            "employee.taxStatus".to_owned(),
            format!("{status} has no PTKP in the rule set"),
        )
    })?;
    let thousand = Decimal::from(1_000);
    let pkp = net_income
        .checked_sub(ptkp)
        .ok_or_else(tax_overflow)?
        .max(Decimal::ZERO);
    let pkp = (pkp / thousand).floor() * thousand;
    let annual_tax = rules.article17(pkp).map(whole).ok_or_else(tax_overflow)?;
    let tax = annual_tax.checked_sub(ytd.pph21).ok_or_else(tax_overflow)?;
    let inputs = json!({
        "annualGross": annual_gross,
        "occupationalCost": occupational_cost,
        "contributions": contributions,
        "netIncome": net_income,
        "ptkp": ptkp,
        "pkp": pkp,
        "annualTax": annual_tax,
        "withheldBefore": ytd.pph21,
    });
    Ok((tax, "ANNUAL", inputs))
}

fn val_json(value: &Val) -> Value {
    match value {
        Val::Num(n) => json!(n),
        Val::Bool(b) => json!(b),
        Val::Text(t) => json!(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn employee(status: &str, employment_type: EmploymentType) -> Employee {
        Employee {
            employment_type,
            tax_status: status.into(),
            jkk_class: 1,
            hire_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            termination_date: None,
            facts: HashMap::new(),
        }
    }

    fn earning(code: &str, bpjs_base: bool) -> Component {
        Component {
            code: code.into(),
            name: code.into(),
            kind: Kind::Earning,
            amount: Amount::Fixed(Decimal::ZERO),
            condition: None,
            taxable: true,
            bpjs_base,
            prorated: false,
            rounding: Rounding::Nearest,
        }
    }

    fn month(year: i32, month: u32) -> Period {
        let start = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        Period {
            start,
            end: next.unwrap().pred_opt().unwrap(),
            frequency: PayFrequency::Monthly,
        }
    }

    /// Runs a tax year month by month, `extra(month)` paid on top as a non-BPJS earning; the
    /// PPh 21 of each month.
    fn year(status: &str, base: &str, extra: impl Fn(u32) -> Option<&'static str>) -> Vec<Decimal> {
        let rules = RuleSet::indonesia();
        let employee = employee(status, EmploymentType::Permanent);
        let mut ytd = YearToDate::default();
        let mut withheld = Vec::new();
        let bonus = earning("BONUS", false);
        for m in 1..=12 {
            let additional: Vec<(Component, Decimal)> = extra(m)
                .map(|a| (bonus.clone(), d(a)))
                .into_iter()
                .collect();
            let slip = calculate(&Input {
                rules,
                employee: &employee,
                period: month(2025, m),
                base_pay: d(base),
                components: &[],
                additional: &additional,
                days_worked: None,
                settings: &HashMap::new(),
                year_to_date: &ytd,
            })
            .unwrap();
            ytd.gross += slip.gross;
            ytd.taxable_gross += slip.taxable_gross;
            ytd.pph21 += slip.pph21;
            ytd.deductible += slip.deductible;
            ytd.months += 1;
            withheld.push(slip.pph21);
        }
        withheld
    }

    #[test]
    fn example_1_flat_salary_k1() {
        let tax = year("K/1", "10000000", |_| None);
        assert!(tax[..11].iter().all(|t| *t == d("156810")));
        assert_eq!(tax[11], d("917490"));
    }

    #[test]
    fn example_2_thr_month_tk0() {
        let tax = year("TK/0", "10000000", |m| (m == 3).then_some("10000000"));
        assert_eq!(tax[0], d("261350"));
        assert_eq!(tax[2], d("1840860"));
        assert_eq!(tax[..11].iter().sum::<Decimal>(), d("4454360"));
        assert_eq!(tax[11], d("322840"));
    }

    #[test]
    fn example_3_capped_wages_and_a_december_bonus_k3() {
        let tax = year("K/3", "25000000", |m| (m == 12).then_some("30000000"));
        assert!(tax[..11].iter().all(|t| *t == d("2305350")));
        assert_eq!(tax[11], d("6672150"));
    }

    #[test]
    fn example_4_over_withholding_is_refunded_in_december() {
        let tax = year("TK/0", "6000000", |m| (m == 6).then_some("30000000"));
        assert_eq!(tax[0], d("47043"));
        assert_eq!(tax[5], d("5440860"));
        assert_eq!(tax[11], d("-3719040"));
    }

    #[test]
    fn the_published_december_cases_match() {
        // examples.md A.3: TK/0, no BPJS, nothing withheld before; the year's gross earned
        // evenly, December settles the year.
        let mut rules = RuleSet::indonesia().clone();
        rules.bpjs.clear();
        let employee = employee("TK/0", EmploymentType::Permanent);
        for (annual, tax) in [
            ("120000000", "3000000"),
            ("60000000", "150000"),
            ("54000000", "0"),
        ] {
            let monthly = d(annual) / d("12");
            let before = YearToDate {
                gross: monthly * d("11"),
                taxable_gross: monthly * d("11"),
                months: 11,
                ..Default::default()
            };
            let slip = calculate(&Input {
                rules: &rules,
                employee: &employee,
                period: month(2025, 12),
                base_pay: monthly,
                components: &[],
                additional: &[],
                days_worked: None,
                settings: &HashMap::new(),
                year_to_date: &before,
            })
            .unwrap();
            assert_eq!(slip.tax_method, "ANNUAL");
            assert_eq!(slip.pph21, d(tax), "annual gross {annual}");
        }
    }

    #[test]
    fn the_gajian_payslip_nets_to_the_rupiah() {
        let rules = RuleSet::indonesia();
        let employee = employee("K/1", EmploymentType::Permanent);
        let slip = calculate(&Input {
            rules,
            employee: &employee,
            period: month(2025, 6),
            base_pay: d("10000000"),
            components: &[],
            additional: &[],
            days_worked: None,
            settings: &HashMap::new(),
            year_to_date: &YearToDate::default(),
        })
        .unwrap();
        assert_eq!(slip.taxable_gross, d("10454000"));
        assert_eq!(
            slip.bpjs_employer,
            d("24000") + d("30000") + d("400000") + d("370000") + d("200000")
        );
        assert_eq!(slip.bpjs_employee, d("300000") + d("100000"));
        assert_eq!(slip.pph21, d("156810"));
        assert_eq!(slip.net, d("9443190"));
    }

    #[test]
    fn daily_workers_use_the_daily_ter() {
        // The published daily vectors have no BPJS in the gross.
        let mut rules = RuleSet::indonesia().clone();
        rules.bpjs.clear();
        let worker = employee("TK/0", EmploymentType::Daily);
        for (day_rate, days, tax) in [("400000", "5", "0"), ("600000", "10", "30000")] {
            let mut period = month(2025, 6);
            period.frequency = PayFrequency::Weekly;
            let slip = calculate(&Input {
                rules: &rules,
                employee: &worker,
                period,
                base_pay: d(day_rate),
                components: &[],
                additional: &[],
                days_worked: Some(d(days)),
                settings: &HashMap::new(),
                year_to_date: &YearToDate::default(),
            })
            .unwrap();
            assert_eq!(slip.tax_method, "TER_DAILY");
            assert_eq!(slip.gross, d(day_rate) * d(days));
            assert_eq!(slip.pph21, d(tax), "{day_rate} x {days}");
        }
    }

    #[test]
    fn a_joiner_is_paid_for_the_days_employed() {
        let rules = RuleSet::indonesia();
        let mut joiner = employee("TK/0", EmploymentType::Permanent);
        joiner.hire_date = NaiveDate::from_ymd_opt(2025, 6, 16).unwrap();
        let mut meal = earning("MEAL", true);
        meal.amount = Amount::Fixed(d("900000"));
        meal.prorated = true;
        let slip = calculate(&Input {
            rules,
            employee: &joiner,
            period: month(2025, 6),
            base_pay: d("9000000"),
            components: &[meal],
            additional: &[],
            days_worked: None,
            settings: &HashMap::new(),
            year_to_date: &YearToDate::default(),
        })
        .unwrap();
        // 15 of June's 30 days.
        assert_eq!(slip.days_worked, d("15"));
        assert_eq!(slip.gross, d("4500000") + d("450000"));
    }

    #[test]
    fn components_are_ordered_by_what_they_read_and_cycles_are_named() {
        let reads = |code: &str| -> Vec<String> {
            match code {
                "A" => vec!["B".into(), "base".into()],
                "B" => vec!["C".into()],
                _ => vec![],
            }
        };
        assert_eq!(
            evaluation_order(&["A", "B", "C"], reads).unwrap(),
            ["C", "B", "A"]
        );
        let cyclic = |code: &str| -> Vec<String> {
            match code {
                "A" => vec!["B".into()],
                "B" => vec!["A".into()],
                _ => vec![],
            }
        };
        assert_eq!(
            evaluation_order(&["A", "B"], cyclic).unwrap_err(),
            "A -> B -> A"
        );
    }

    #[test]
    fn amounts_too_large_to_sum_are_refused_not_panicked_on() {
        let rules = RuleSet::indonesia();
        let employee = employee("TK/0", EmploymentType::Permanent);
        // Each is 5e27; twenty of them pass Decimal's limit (7.9e28) only when summed.
        let huge: Vec<Component> = (0..20)
            .map(|n| {
                let mut c = earning(&format!("HUGE{n}"), true);
                c.amount = Amount::Formula(Formula::parse("base * 10000000000000").unwrap());
                c
            })
            .collect();
        let result = calculate(&Input {
            rules,
            employee: &employee,
            period: month(2025, 12),
            base_pay: d("500000000000000"),
            components: &huge,
            additional: &[],
            days_worked: None,
            settings: &HashMap::new(),
            year_to_date: &YearToDate::default(),
        });
        assert_eq!(result.unwrap_err().1, "amount out of range");
    }

    #[test]
    fn an_employee_without_a_ter_category_is_refused_with_the_field() {
        let rules = RuleSet::indonesia();
        let employee = employee("XX/9", EmploymentType::Permanent);
        let problem = calculate(&Input {
            rules,
            employee: &employee,
            period: month(2025, 1),
            base_pay: d("1000000"),
            components: &[],
            additional: &[],
            days_worked: None,
            settings: &HashMap::new(),
            year_to_date: &YearToDate::default(),
        })
        .unwrap_err();
        assert_eq!(problem.0, "employee.taxStatus");
    }
}
