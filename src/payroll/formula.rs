//! Pay component formulas: CEL syntax, evaluated in exact decimals.
//!
//! CEL's own numbers are 64-bit floats, which cannot hold 0.1 exactly; a payslip must be exact
//! to the rupiah. So formulas are parsed by the CEL parser and evaluated here over decimals:
//! arithmetic (`+ - * / %`), comparisons, `&& || !`, `cond ? a : b`, string equality, and the
//! functions `min`, `max`, `round`, `floor`, `ceil` and `abs`. Names are the period facts
//! (`base`, `daysWorked`, `daysInPeriod`), other components by code, `employee.<field>` and
//! `settings.<name>`.

use std::collections::HashMap;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use rust_decimal::{Decimal, RoundingStrategy};

/// A value a formula computes with.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Num(Decimal),
    Bool(bool),
    Text(String),
}

/// A parsed formula.
#[derive(Clone, Debug)]
pub struct Formula {
    expr: IdedExpr,
}

/// Deep formulas are refused at parse time by the CEL parser (its recursion limit); this caps
/// what evaluation may recurse on top of that.
const MAX_DEPTH: usize = 128;

impl Formula {
    pub fn parse(source: &str) -> Result<Formula, String> {
        if source.len() > 4_000 {
            return Err("at most 4,000 characters".into());
        }
        let expr = cel::parser::Parser::new()
            .parse(source)
            .map_err(|e| e.to_string())?;
        Ok(Formula { expr })
    }

    /// Every name the formula reads: `base`, `BONUS`, `employee.taxStatus`.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect_names(&self.expr, &mut names);
        names.sort();
        names.dedup();
        names
    }

    pub fn evaluate(&self, env: &HashMap<String, Val>) -> Result<Val, String> {
        eval(&self.expr, env, 0)
    }

    /// Evaluates to a number.
    pub fn number(&self, env: &HashMap<String, Val>) -> Result<Decimal, String> {
        match self.evaluate(env)? {
            Val::Num(n) => Ok(n),
            other => Err(format!("gives {other:?}, not a number")),
        }
    }

    /// Evaluates to a condition.
    pub fn holds(&self, env: &HashMap<String, Val>) -> Result<bool, String> {
        match self.evaluate(env)? {
            Val::Bool(b) => Ok(b),
            other => Err(format!("gives {other:?}, not true or false")),
        }
    }
}

fn collect_names(expr: &IdedExpr, names: &mut Vec<String>) {
    match &expr.expr {
        Expr::Ident(name) => names.push(name.clone()),
        Expr::Select(select) => match &select.operand.expr {
            Expr::Ident(root) => names.push(format!("{root}.{}", select.field)),
            _ => collect_names(&select.operand, names),
        },
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                collect_names(target, names);
            }
            for arg in &call.args {
                collect_names(arg, names);
            }
        }
        _ => {}
    }
}

fn eval(expr: &IdedExpr, env: &HashMap<String, Val>, depth: usize) -> Result<Val, String> {
    if depth > MAX_DEPTH {
        return Err("too deeply nested".into());
    }
    match &expr.expr {
        Expr::Literal(literal) => literal_value(literal),
        Expr::Ident(name) => env
            .get(name)
            .cloned()
            .ok_or_else(|| format!("unknown name {name}")),
        Expr::Select(select) => match &select.operand.expr {
            Expr::Ident(root) if !select.test => {
                let name = format!("{root}.{}", select.field);
                env.get(&name)
                    .cloned()
                    .ok_or_else(|| format!("unknown name {name}"))
            }
            _ => Err("only employee.<field> and settings.<name> can be selected".into()),
        },
        Expr::Call(call) if call.target.is_none() => {
            let arg = |i: usize| eval(&call.args[i], env, depth + 1);
            call_function(&call.func_name, call.args.len(), arg)
        }
        _ => Err("formulas use numbers, names, operators and min/max/round/floor/ceil/abs".into()),
    }
}

fn literal_value(literal: &LiteralValue) -> Result<Val, String> {
    match literal {
        LiteralValue::Int(i) => Ok(Val::Num(Decimal::from(*i.inner()))),
        LiteralValue::UInt(u) => Ok(Val::Num(Decimal::from(*u.inner()))),
        // The parser has already made a float of it; its shortest text is what was written.
        LiteralValue::Double(d) => format!("{}", d.inner())
            .parse::<Decimal>()
            .map(Val::Num)
            .map_err(|_| "number out of range".to_owned()),
        LiteralValue::Boolean(b) => Ok(Val::Bool(*b.inner())),
        LiteralValue::String(s) => Ok(Val::Text(s.inner().to_owned())),
        _ => Err("only numbers, strings and true/false are literals".into()),
    }
}

fn num(value: Val) -> Result<Decimal, String> {
    match value {
        Val::Num(n) => Ok(n),
        other => Err(format!("{other:?} is not a number")),
    }
}

fn boolean(value: Val) -> Result<bool, String> {
    match value {
        Val::Bool(b) => Ok(b),
        other => Err(format!("{other:?} is not true or false")),
    }
}

fn call_function(
    name: &str,
    arity: usize,
    arg: impl Fn(usize) -> Result<Val, String>,
) -> Result<Val, String> {
    let overflow = || "amount out of range".to_owned();
    let binary = |f: fn(Decimal, Decimal) -> Option<Decimal>| -> Result<Val, String> {
        f(num(arg(0)?)?, num(arg(1)?)?)
            .map(Val::Num)
            .ok_or_else(overflow)
    };
    let compare = |f: fn(&Val, &Val) -> Option<bool>| -> Result<Val, String> {
        let (a, b) = (arg(0)?, arg(1)?);
        f(&a, &b)
            .map(Val::Bool)
            .ok_or_else(|| format!("cannot compare {a:?} with {b:?}"))
    };
    let rounding = |strategy: RoundingStrategy| -> Result<Val, String> {
        let places = if arity == 2 {
            num(arg(1)?)?
        } else {
            Decimal::ZERO
        };
        let places = u32::try_from(places).ok().filter(|p| *p <= 10);
        let places = places.ok_or("round to 0 to 10 decimal places")?;
        Ok(Val::Num(
            num(arg(0)?)?.round_dp_with_strategy(places, strategy),
        ))
    };
    match (name, arity) {
        ("_+_", 2) => binary(Decimal::checked_add),
        ("_-_", 2) => binary(Decimal::checked_sub),
        ("_*_", 2) => binary(Decimal::checked_mul),
        ("_/_", 2) => binary(Decimal::checked_div).map_err(|_| "division by zero".into()),
        ("_%_", 2) => binary(Decimal::checked_rem).map_err(|_| "division by zero".into()),
        ("-_", 1) => Ok(Val::Num(-num(arg(0)?)?)),
        ("!_", 1) => Ok(Val::Bool(!boolean(arg(0)?)?)),
        ("_&&_", 2) => Ok(Val::Bool(boolean(arg(0)?)? && boolean(arg(1)?)?)),
        ("_||_", 2) => Ok(Val::Bool(boolean(arg(0)?)? || boolean(arg(1)?)?)),
        ("_?_:_", 3) => {
            if boolean(arg(0)?)? {
                arg(1)
            } else {
                arg(2)
            }
        }
        ("_==_", 2) => compare(|a, b| Some(a == b)),
        ("_!=_", 2) => compare(|a, b| Some(a != b)),
        ("_<_", 2) => compare(|a, b| order(a, b).map(|o| o.is_lt())),
        ("_<=_", 2) => compare(|a, b| order(a, b).map(|o| o.is_le())),
        ("_>_", 2) => compare(|a, b| order(a, b).map(|o| o.is_gt())),
        ("_>=_", 2) => compare(|a, b| order(a, b).map(|o| o.is_ge())),
        ("min" | "max", n) if n >= 1 => {
            let mut best = num(arg(0)?)?;
            for i in 1..n {
                let next = num(arg(i)?)?;
                best = if name == "min" {
                    best.min(next)
                } else {
                    best.max(next)
                };
            }
            Ok(Val::Num(best))
        }
        ("round", 1 | 2) => rounding(RoundingStrategy::MidpointAwayFromZero),
        ("floor", 1 | 2) => rounding(RoundingStrategy::ToNegativeInfinity),
        ("ceil", 1 | 2) => rounding(RoundingStrategy::ToPositiveInfinity),
        ("abs", 1) => Ok(Val::Num(num(arg(0)?)?.abs())),
        _ => Err(format!("{} is not a formula function", display_name(name))),
    }
}

fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Num(a), Val::Num(b)) => Some(a.cmp(b)),
        (Val::Text(a), Val::Text(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// `_+_` as `+`, for messages.
fn display_name(name: &str) -> String {
    name.replace('_', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn env() -> HashMap<String, Val> {
        HashMap::from([
            ("base".to_owned(), Val::Num(Decimal::from(10_000_000))),
            ("daysWorked".to_owned(), Val::Num(Decimal::from(20))),
            ("TRANSPORT".to_owned(), Val::Num(Decimal::from(500_000))),
            ("employee.taxStatus".to_owned(), Val::Text("K/1".into())),
        ])
    }

    fn number(source: &str) -> Result<Decimal, String> {
        Formula::parse(source)?.number(&env())
    }

    #[test]
    fn formulas_compute_in_exact_decimals() {
        // In floats 0.1 * 3 is 0.30000000000000004.
        assert_eq!(
            number("0.1 * 3").unwrap(),
            Decimal::from_str("0.3").unwrap()
        );
        assert_eq!(number("base * 0.05").unwrap(), Decimal::from(500_000));
        assert_eq!(
            number("min(base * 0.1, 750000) + TRANSPORT").unwrap(),
            Decimal::from(1_250_000)
        );
        assert_eq!(number("round(base / 3)").unwrap(), Decimal::from(3_333_333));
        assert_eq!(
            number("floor(2.5) + ceil(2.1) + round(2.5) + abs(-1)").unwrap(),
            Decimal::from(9)
        );
        assert_eq!(
            number("employee.taxStatus == 'K/1' ? 100 : 0").unwrap(),
            Decimal::from(100)
        );
        assert!(
            Formula::parse("daysWorked >= 20 && base > 0")
                .unwrap()
                .holds(&env())
                .unwrap()
        );
    }

    #[test]
    fn bad_formulas_are_errors_not_panics() {
        assert_eq!(number("base / 0").unwrap_err(), "division by zero");
        assert!(
            number("UNKNOWN * 2")
                .unwrap_err()
                .contains("unknown name UNKNOWN")
        );
        assert!(number("'a' + 1").is_err());
        assert!(
            number("size('abc')")
                .unwrap_err()
                .contains("not a formula function")
        );
        assert!(number("79228162514264337593543950335 * 10").is_err());
        assert!(Formula::parse("base *").is_err());
        assert!(number("base > 1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn a_formula_lists_the_names_it_reads() {
        let formula =
            Formula::parse("min(base, TRANSPORT) + employee.jkkClass * OVERTIME").unwrap();
        assert_eq!(
            formula.names(),
            ["OVERTIME", "TRANSPORT", "base", "employee.jkkClass"]
        );
    }
}
