//! The statutory tables a pay run applies: TER rates (PP 58/2023), Article 17 brackets, PTKP and
//! BPJS rates with their wage caps. They are tenant data (admins edit them, effective-dated);
//! every tenant starts with [`RuleSet::indonesia`], read from `assets/payroll-id/` (copied from
//! the verified reference data set, see its `SOURCE.md`).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// One row of a monthly TER table: for a monthly gross in `lower..=upper`, `rate` percent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerRate {
    /// A, B or C.
    pub category: String,
    pub lower: Decimal,
    /// None on the open top row.
    pub upper: Option<Decimal>,
    pub rate: Decimal,
}

/// One row of the daily TER table for workers paid by the day or week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyRate {
    pub lower: Decimal,
    pub upper: Option<Decimal>,
    /// `rate` percent of the daily gross; None means Article 17 rates on half the daily gross
    /// (the unconfirmed method above 2,500,000 a day).
    pub rate: Option<Decimal>,
}

/// An Article 17 bracket: `rate` percent of taxable income above `over`, up to `up_to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bracket {
    pub over: Decimal,
    pub up_to: Option<Decimal>,
    pub rate: Decimal,
}

/// The annual non-taxable income of a tax status and its TER category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ptkp {
    pub status: String,
    pub annual: Decimal,
    /// None for K/I/x, which only the annual return uses.
    pub ter_category: Option<String>,
}

/// A BPJS program's rates from a date: `program` is KESEHATAN, JHT, JP, JKM or JKK1…JKK5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BpjsRate {
    pub program: String,
    pub employer_rate: Decimal,
    pub employee_rate: Decimal,
    pub wage_cap: Option<Decimal>,
    pub effective_from: NaiveDate,
}

/// Everything the statutory calculation reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    pub ter_monthly: Vec<TerRate>,
    pub ter_daily: Vec<DailyRate>,
    pub article17: Vec<Bracket>,
    pub ptkp: Vec<Ptkp>,
    pub bpjs: Vec<BpjsRate>,
    /// Biaya jabatan: this percent of the annual gross…
    pub occupational_cost_rate: Decimal,
    /// …at most this much for each month worked.
    pub occupational_cost_monthly_cap: Decimal,
    /// Tenant figures formulas read as `settings.<name>` (a meal allowance per day).
    #[serde(default)]
    pub values: BTreeMap<String, Decimal>,
}

/// The BPJS programs, as `program` names them.
pub const PROGRAMS: [&str; 9] = [
    "KESEHATAN",
    "JHT",
    "JP",
    "JKM",
    "JKK1",
    "JKK2",
    "JKK3",
    "JKK4",
    "JKK5",
];

impl RuleSet {
    /// The Indonesian rules, parsed once from the seed data.
    pub fn indonesia() -> &'static RuleSet {
        static RULES: OnceLock<RuleSet> = OnceLock::new();
        RULES.get_or_init(|| {
            seed::parse().expect("the payroll seed data in assets/payroll-id parses")
        })
    }

    /// The PTKP row withholding uses for a status: K/I/x (wife's income combined, which only
    /// the annual return knows) is withheld on the employee's own K/x.
    fn withholding_ptkp(&self, status: &str) -> Option<&Ptkp> {
        let own = status.replace("K/I/", "K/");
        self.ptkp.iter().find(|p| p.status == own)
    }

    /// The TER category of a tax status.
    pub fn ter_category(&self, status: &str) -> Option<&str> {
        self.withholding_ptkp(status)
            .and_then(|p| p.ter_category.as_deref())
    }

    /// The annual PTKP withholding uses for a status.
    pub fn ptkp_of(&self, status: &str) -> Option<Decimal> {
        self.withholding_ptkp(status).map(|p| p.annual)
    }

    /// The monthly TER rate (percent) for a gross in a category.
    pub fn ter_monthly_rate(&self, category: &str, gross: Decimal) -> Decimal {
        self.ter_monthly
            .iter()
            .filter(|r| r.category == category && r.lower <= gross)
            .max_by_key(|r| r.lower)
            .map_or(Decimal::ZERO, |r| r.rate)
    }

    /// The daily TER row for an average daily gross.
    pub fn ter_daily_row(&self, daily_gross: Decimal) -> Option<&DailyRate> {
        self.ter_daily
            .iter()
            .filter(|r| r.lower <= daily_gross)
            .max_by_key(|r| r.lower)
    }

    /// The annual tax on `pkp` by the Article 17 brackets.
    pub fn article17(&self, pkp: Decimal) -> Option<Decimal> {
        let mut tax = Decimal::ZERO;
        for bracket in &self.article17 {
            if pkp <= bracket.over {
                continue;
            }
            let top = bracket.up_to.map_or(pkp, |up_to| pkp.min(up_to));
            let slice = top.checked_sub(bracket.over)?;
            tax = tax.checked_add(slice.checked_mul(bracket.rate)? / Decimal::ONE_HUNDRED)?;
        }
        Some(tax)
    }

    /// The rates of `program` in force on `day`.
    pub fn bpjs(&self, program: &str, day: NaiveDate) -> Option<&BpjsRate> {
        self.bpjs
            .iter()
            .filter(|r| r.program == program && r.effective_from <= day)
            .max_by_key(|r| r.effective_from)
    }

    /// Every problem with the tables, each with its path (`terMonthly[3].rate`).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let percent = |path: String, rate: Decimal, problems: &mut Vec<(String, String)>| {
            if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
                problems.push((path, "must be a percentage from 0 to 100".into()));
            }
        };
        let categories: Vec<&str> = self
            .ptkp
            .iter()
            .filter_map(|p| p.ter_category.as_deref())
            .collect();
        for (i, row) in self.ter_monthly.iter().enumerate() {
            if !categories.contains(&row.category.as_str()) {
                problems.push((
                    format!("terMonthly[{i}].category"),
                    "no tax status has this category".into(),
                ));
            }
            percent(format!("terMonthly[{i}].rate"), row.rate, &mut problems);
            if row.upper.is_some_and(|upper| upper < row.lower) {
                problems.push((format!("terMonthly[{i}].upper"), "below lower".into()));
            }
        }
        for category in &categories {
            if !self
                .ter_monthly
                .iter()
                .any(|r| r.category == *category && r.lower.is_zero())
            {
                problems.push((
                    "terMonthly".into(),
                    format!("category {category} needs a row starting at 0"),
                ));
            }
        }
        for (i, row) in self.ter_daily.iter().enumerate() {
            if let Some(rate) = row.rate {
                percent(format!("terDaily[{i}].rate"), rate, &mut problems);
            }
        }
        for (i, bracket) in self.article17.iter().enumerate() {
            percent(format!("article17[{i}].rate"), bracket.rate, &mut problems);
        }
        for (i, p) in self.ptkp.iter().enumerate() {
            if p.annual < Decimal::ZERO {
                problems.push((format!("ptkp[{i}].annual"), "must not be negative".into()));
            }
        }
        for (i, rate) in self.bpjs.iter().enumerate() {
            if !PROGRAMS.contains(&rate.program.as_str()) {
                problems.push((
                    format!("bpjs[{i}].program"),
                    format!("one of {}", PROGRAMS.join(", ")),
                ));
            }
            percent(
                format!("bpjs[{i}].employerRate"),
                rate.employer_rate,
                &mut problems,
            );
            percent(
                format!("bpjs[{i}].employeeRate"),
                rate.employee_rate,
                &mut problems,
            );
        }
        percent(
            "occupationalCostRate".into(),
            self.occupational_cost_rate,
            &mut problems,
        );
        if self.occupational_cost_monthly_cap < Decimal::ZERO {
            problems.push((
                "occupationalCostMonthlyCap".into(),
                "must not be negative".into(),
            ));
        }
        problems
    }

    /// BAD_USER_INPUT naming the first problem's path, and listing all of them.
    pub fn validate(&self, field: &str) -> AppResult<()> {
        let problems = self.problems();
        let Some((path, _)) = problems.first() else {
            return Ok(());
        };
        let all: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        Err(AppError::bad_input(
            format!("{field}.{path}"),
            all.join("; "),
        ))
    }
}

/// The seed data: the CSV files of the reference data set, as they were verified.
mod seed {
    use super::*;

    const TER_MONTHLY: &str = include_str!("../../assets/payroll-id/ter_monthly.csv");
    const TER_DAILY: &str = include_str!("../../assets/payroll-id/ter_daily.csv");
    const ARTICLE17: &str = include_str!("../../assets/payroll-id/pph21_article17.csv");
    const PTKP: &str = include_str!("../../assets/payroll-id/ptkp.csv");
    const BPJS: &str = include_str!("../../assets/payroll-id/bpjs.csv");

    /// The rows of a CSV file without its header, split into cells (the files quote nothing).
    fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
        csv.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').map(str::trim).collect())
    }

    fn number(cell: &str) -> Result<Decimal, String> {
        Decimal::from_str(cell).map_err(|e| format!("{cell}: {e}"))
    }

    fn optional(cell: &str) -> Result<Option<Decimal>, String> {
        if cell.is_empty() {
            Ok(None)
        } else {
            number(cell).map(Some)
        }
    }

    pub(super) fn parse() -> Result<RuleSet, String> {
        let ter_monthly = rows(TER_MONTHLY)
            .map(|r| {
                Ok(TerRate {
                    category: r[0].to_owned(),
                    lower: number(r[1])?,
                    upper: optional(r[2])?,
                    rate: number(r[3])?,
                })
            })
            .collect::<Result<_, String>>()?;
        let ter_daily = rows(TER_DAILY)
            .map(|r| {
                Ok(DailyRate {
                    lower: number(r[0])?,
                    upper: optional(r[1])?,
                    rate: optional(r[2])?,
                })
            })
            .collect::<Result<_, String>>()?;
        let article17 = rows(ARTICLE17)
            .map(|r| {
                Ok(Bracket {
                    over: number(r[1])?,
                    up_to: optional(r[2])?,
                    rate: number(r[3])?,
                })
            })
            .collect::<Result<_, String>>()?;
        let ptkp = rows(PTKP)
            .map(|r| {
                Ok(Ptkp {
                    status: r[0].to_owned(),
                    annual: number(r[1])?,
                    ter_category: Some(r[2].to_owned()).filter(|c| !c.is_empty()),
                })
            })
            .collect::<Result<_, String>>()?;
        let bpjs = rows(BPJS)
            .map(|r| {
                let program = match r[0] {
                    p if p.starts_with("BPJS Kesehatan") => "KESEHATAN".to_owned(),
                    p if p.starts_with("JHT") => "JHT".to_owned(),
                    p if p.starts_with("JP") => "JP".to_owned(),
                    p if p.starts_with("JKM") => "JKM".to_owned(),
                    p if p.starts_with("JKK") => {
                        let group = [
                            "group I ",
                            "group II ",
                            "group III ",
                            "group IV ",
                            "group V ",
                        ]
                        .iter()
                        .position(|g| p.contains(g))
                        // Group I is named only by its full title.
                        .map_or(1, |i| i + 1);
                        format!("JKK{group}")
                    }
                    other => return Err(format!("unknown BPJS program {other}")),
                };
                Ok(BpjsRate {
                    program,
                    employer_rate: number(r[1])?,
                    employee_rate: number(r[2])?,
                    wage_cap: optional(r[3])?,
                    effective_from: NaiveDate::parse_from_str(r[7], "%Y-%m-%d")
                        .map_err(|e| format!("{}: {e}", r[7]))?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(RuleSet {
            ter_monthly,
            ter_daily,
            article17,
            ptkp,
            bpjs,
            occupational_cost_rate: Decimal::from(5),
            occupational_cost_monthly_cap: Decimal::from(500_000),
            values: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn the_seed_data_holds_every_row_of_the_reference_tables() {
        let rules = RuleSet::indonesia();
        assert_eq!(rules.ter_monthly.len(), 125);
        for (category, rows) in [("A", 44), ("B", 40), ("C", 41)] {
            let count = rules
                .ter_monthly
                .iter()
                .filter(|r| r.category == category)
                .count();
            assert_eq!(count, rows, "category {category}");
        }
        assert_eq!(rules.ter_daily.len(), 3);
        assert_eq!(rules.article17.len(), 5);
        assert_eq!(rules.ptkp.len(), 12);
        assert_eq!(rules.bpjs.len(), 12);
        let groups: Vec<&str> = rules
            .bpjs
            .iter()
            .filter(|r| r.program.starts_with("JKK"))
            .map(|r| r.program.as_str())
            .collect();
        assert_eq!(groups, ["JKK1", "JKK2", "JKK3", "JKK4", "JKK5"]);
        assert_eq!(rules.problems(), vec![]);
    }

    #[test]
    fn monthly_ter_matches_the_published_vectors() {
        // examples.md A.1: status, gross, rate percent, PPh 21 (truncated to whole rupiah).
        let rules = RuleSet::indonesia();
        for (status, gross, rate, tax) in [
            ("TK/0", "5400000", "0", "0"),
            ("TK/0", "5400001", "0.25", "13500"),
            ("TK/0", "6000000", "0.75", "45000"),
            ("TK/0", "10000000", "2", "200000"),
            ("TK/0", "20000000", "9", "1800000"),
            ("K/1", "6200000", "0", "0"),
            ("K/2", "8000000", "1", "80000"),
            ("K/1", "10000000", "1.5", "150000"),
            ("K/1", "10454000", "1.5", "156810"),
            ("K/3", "6600000", "0", "0"),
            ("K/3", "7000000", "0.5", "35000"),
            ("K/3", "15000000", "5", "750000"),
            ("K/3", "36000000", "14", "5040000"),
        ] {
            let category = rules.ter_category(status).unwrap();
            let found = rules.ter_monthly_rate(category, d(gross));
            assert_eq!(found, d(rate), "{status} {gross}");
            let withheld = (d(gross) * found / Decimal::ONE_HUNDRED).trunc();
            assert_eq!(withheld, d(tax), "{status} {gross}");
        }
        assert_eq!(rules.ter_category("K/I/2"), Some("B"));
        assert_eq!(rules.ter_category("X/9"), None);
    }

    #[test]
    fn article_17_matches_the_published_vectors() {
        let rules = RuleSet::indonesia();
        for (pkp, tax) in [
            ("50000000", "2500000"),
            ("100000000", "9000000"),
            ("120000000", "12000000"),
            ("60000000", "3000000"),
            ("252124000", "32031000"),
            ("0", "0"),
        ] {
            assert_eq!(rules.article17(d(pkp)), Some(d(tax)), "PKP {pkp}");
        }
    }

    #[test]
    fn the_jp_cap_follows_its_effective_date() {
        let rules = RuleSet::indonesia();
        let cap = |day: &str| {
            rules
                .bpjs("JP", NaiveDate::from_str(day).unwrap())
                .and_then(|r| r.wage_cap)
                .unwrap()
        };
        assert_eq!(cap("2025-02-28"), d("10042300"));
        assert_eq!(cap("2025-03-01"), d("10547400"));
        assert_eq!(cap("2026-12-31"), d("11086300"));
    }

    #[test]
    fn a_broken_table_is_reported_with_its_path() {
        let mut rules = RuleSet::indonesia().clone();
        rules.ter_monthly[3].rate = d("120");
        rules.bpjs[0].program = "DENTAL".into();
        let paths: Vec<String> = rules.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["terMonthly[3].rate", "bpjs[0].program"]);
    }
}
