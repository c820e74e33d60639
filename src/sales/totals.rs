//! Document totals, computed by the server with exact decimals. The rounding rule, per line
//! then sum, every amount rounded to cents, half away from zero:
//!
//! 1. line gross = round(quantity × list price); line discount = round(gross × percent / 100)
//!    or the amount given; line net = gross − line discount;
//! 2. individual tax mode: line tax = round(net × line rate / 100); group mode: line tax = 0;
//!    line total = net + line tax;
//! 3. subtotal = Σ line net; discount = round(subtotal × percent / 100) or the amount given;
//! 4. tax = Σ line tax (individual mode; the document discount comes after tax, as in Vtiger)
//!    or round((subtotal − discount) × group rate / 100) (group mode);
//! 5. grand total = subtotal − discount + tax + shipping and handling + adjustment.

use rust_decimal::{Decimal, RoundingStrategy};

/// Cents: the precision every computed amount is rounded to.
pub const CENTS: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaxMode {
    /// Each line has its own tax.
    Individual,
    /// One tax on the whole document.
    Group,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discount {
    #[default]
    None,
    Percent(Decimal),
    Amount(Decimal),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub quantity: Decimal,
    pub list_price: Decimal,
    pub discount: Discount,
    /// Percent; used in individual mode only.
    pub tax_rate: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInput {
    pub mode: TaxMode,
    pub lines: Vec<LineInput>,
    pub discount: Discount,
    /// Percent; used in group mode only.
    pub group_tax_rate: Decimal,
    pub shipping: Decimal,
    pub adjustment: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTotals {
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub grand_total: Decimal,
}

/// Why totals cannot be computed: the input field at fault, and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: &str) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.to_owned(),
    }
}

pub fn round(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(CENTS, RoundingStrategy::MidpointAwayFromZero)
}

/// Decimal arithmetic panics on overflow; amounts come from requests, so every step is checked
/// and an overflow is an out-of-range input on `field`.
fn checked(value: Option<Decimal>, field: &str) -> Result<Decimal, Invalid> {
    value.ok_or_else(|| invalid(field, "amount out of range"))
}

fn percent_of(amount: Decimal, percent: Decimal, field: &str) -> Result<Decimal, Invalid> {
    let product = checked(amount.checked_mul(percent), field)?;
    Ok(round(checked(
        product.checked_div(Decimal::ONE_HUNDRED),
        field,
    )?))
}

fn sum(amounts: impl IntoIterator<Item = Decimal>, field: &str) -> Result<Decimal, Invalid> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, |total, amount| {
            checked(total.checked_add(amount), field)
        })
}

/// The discount on `base`; it may be neither negative nor more than `base`.
fn discount_on(base: Decimal, discount: Discount, field: &str) -> Result<Decimal, Invalid> {
    let value = match discount {
        Discount::None => Decimal::ZERO,
        Discount::Percent(p) if p.is_sign_negative() || p > Decimal::ONE_HUNDRED => {
            return Err(invalid(
                format!("{field}Percent"),
                "must be between 0 and 100",
            ));
        }
        Discount::Percent(p) => percent_of(base, p, &format!("{field}Percent"))?,
        Discount::Amount(a) if a.is_sign_negative() || a > base => {
            return Err(invalid(
                format!("{field}Amount"),
                "must be between 0 and the amount it discounts",
            ));
        }
        Discount::Amount(a) => a,
    };
    Ok(value)
}

fn check_rate(rate: Decimal, field: String) -> Result<(), Invalid> {
    if rate.is_sign_negative() {
        return Err(invalid(field, "must not be negative"));
    }
    Ok(())
}

pub fn compute(input: &DocumentInput) -> Result<Totals, Invalid> {
    let mut lines = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        let at = |name: &str| format!("lines.{i}.{name}");
        if line.quantity <= Decimal::ZERO {
            return Err(invalid(at("quantity"), "must be more than 0"));
        }
        if line.list_price.is_sign_negative() {
            return Err(invalid(at("listPrice"), "must not be negative"));
        }
        check_rate(line.tax_rate, at("taxRate"))?;
        let gross = round(checked(
            line.quantity.checked_mul(line.list_price),
            &at("quantity"),
        )?);
        let net = gross - discount_on(gross, line.discount, &at("discount"))?;
        let tax = match input.mode {
            TaxMode::Individual => percent_of(net, line.tax_rate, &at("taxRate"))?,
            TaxMode::Group => Decimal::ZERO,
        };
        lines.push(LineTotals {
            net,
            tax,
            total: checked(net.checked_add(tax), &at("taxRate"))?,
        });
    }
    let subtotal = sum(lines.iter().map(|l| l.net), "lines")?;
    let discount = discount_on(subtotal, input.discount, "discount")?;
    check_rate(input.group_tax_rate, "taxRate".into())?;
    let tax = match input.mode {
        TaxMode::Individual => sum(lines.iter().map(|l| l.tax), "lines")?,
        TaxMode::Group => percent_of(subtotal - discount, input.group_tax_rate, "taxRate")?,
    };
    if input.shipping.is_sign_negative() {
        return Err(invalid("shipping", "must not be negative"));
    }
    let grand_total = sum(
        [subtotal - discount, tax, input.shipping, input.adjustment],
        "adjustment",
    )?;
    if grand_total.is_sign_negative() {
        return Err(invalid("adjustment", "would make the grand total negative"));
    }
    Ok(Totals {
        lines,
        subtotal,
        discount,
        tax,
        grand_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line(quantity: &str, price: &str, discount: Discount, rate: &str) -> LineInput {
        LineInput {
            quantity: d(quantity),
            list_price: d(price),
            discount,
            tax_rate: d(rate),
        }
    }

    #[test]
    fn amounts_too_large_to_compute_are_refused_not_panicked_on() {
        let huge = Decimal::MAX;
        let input = DocumentInput {
            mode: TaxMode::Individual,
            lines: vec![
                line("2", "1", Discount::None, "11"),
                line("1", "1", Discount::None, "0"),
            ],
            discount: Discount::None,
            group_tax_rate: Decimal::ZERO,
            shipping: Decimal::ZERO,
            adjustment: Decimal::ZERO,
        };
        let mut overflowing = input.clone();
        overflowing.lines[0].list_price = huge;
        assert_eq!(compute(&overflowing).unwrap_err().field, "lines.0.quantity");
        let mut taxed = input.clone();
        taxed.lines[0] = line("1", "1", Discount::None, "1000");
        taxed.lines[0].list_price = huge / d("10");
        assert_eq!(compute(&taxed).unwrap_err().field, "lines.0.taxRate");
        let mut summed = input.clone();
        summed.lines[1].list_price = huge / d("2");
        summed.lines[0].list_price = huge / d("2");
        summed.lines[0].quantity = d("1");
        assert!(compute(&summed).is_err());
        let mut shipped = input;
        shipped.shipping = huge;
        shipped.adjustment = huge;
        assert_eq!(compute(&shipped).unwrap_err().field, "adjustment");
    }

    #[test]
    fn individual_mode_rounds_each_line_then_sums() {
        let input = DocumentInput {
            mode: TaxMode::Individual,
            lines: vec![
                line("3", "0.335", Discount::None, "11"),
                line("1", "10", Discount::Percent(d("12.5")), "11"),
            ],
            discount: Discount::Amount(d("1")),
            group_tax_rate: Decimal::ZERO,
            shipping: d("5"),
            adjustment: d("-0.01"),
        };
        let totals = compute(&input).unwrap();
        // 3 × 0.335 = 1.005 → 1.01; tax 0.1111 → 0.11.
        assert_eq!(totals.lines[0].net, d("1.01"));
        assert_eq!(totals.lines[0].tax, d("0.11"));
        // 10 − 1.25 = 8.75; tax 0.9625 → 0.96.
        assert_eq!(totals.lines[1].net, d("8.75"));
        assert_eq!(totals.lines[1].tax, d("0.96"));
        assert_eq!(totals.subtotal, d("9.76"));
        assert_eq!(totals.tax, d("1.07"));
        assert_eq!(
            totals.grand_total,
            d("9.76") - d("1") + d("1.07") + d("5") - d("0.01")
        );
    }

    #[test]
    fn group_mode_taxes_the_discounted_subtotal() {
        let input = DocumentInput {
            mode: TaxMode::Group,
            lines: vec![
                line("2", "19.99", Discount::None, "50"),
                line("1", "0.05", Discount::None, "50"),
            ],
            discount: Discount::Percent(d("10")),
            group_tax_rate: d("11"),
            shipping: Decimal::ZERO,
            adjustment: Decimal::ZERO,
        };
        let totals = compute(&input).unwrap();
        assert_eq!(totals.subtotal, d("40.03"));
        assert_eq!(totals.discount, d("4.00")); // 4.003
        assert_eq!(totals.tax, d("3.96")); // 36.03 × 0.11 = 3.9633
        assert!(totals.lines.iter().all(|l| l.tax.is_zero()));
        assert_eq!(totals.grand_total, d("39.99"));
    }

    #[test]
    fn impossible_discounts_and_totals_name_their_field() {
        let mut input = DocumentInput {
            mode: TaxMode::Individual,
            lines: vec![line("1", "10", Discount::Amount(d("11")), "0")],
            discount: Discount::None,
            group_tax_rate: Decimal::ZERO,
            shipping: Decimal::ZERO,
            adjustment: Decimal::ZERO,
        };
        assert_eq!(compute(&input).unwrap_err().field, "lines.0.discountAmount");
        input.lines[0].discount = Discount::Percent(d("101"));
        assert_eq!(
            compute(&input).unwrap_err().field,
            "lines.0.discountPercent"
        );
        input.lines[0].discount = Discount::None;
        input.lines[0].quantity = Decimal::ZERO;
        assert_eq!(compute(&input).unwrap_err().field, "lines.0.quantity");
        input.lines[0].quantity = Decimal::ONE;
        input.adjustment = d("-10.01");
        assert_eq!(compute(&input).unwrap_err().field, "adjustment");
    }

    fn amount(max_units: i64, scale: u32) -> impl Strategy<Value = Decimal> {
        (0..=max_units).prop_map(move |units| Decimal::new(units, scale))
    }

    fn discount(base_max: i64) -> impl Strategy<Value = Discount> {
        prop_oneof![
            Just(Discount::None),
            amount(10_000, 2).prop_map(Discount::Percent),
            amount(base_max, 2).prop_map(Discount::Amount),
        ]
    }

    fn document() -> impl Strategy<Value = DocumentInput> {
        let line = (
            (1..=1_000_000i64).prop_map(|u| Decimal::new(u, 4)),
            amount(100_000_000, 4),
            prop_oneof![
                Just(Discount::None),
                amount(10_000, 2).prop_map(Discount::Percent)
            ],
            amount(3_000, 2),
        )
            .prop_map(|(quantity, list_price, discount, tax_rate)| LineInput {
                quantity,
                list_price,
                discount,
                tax_rate,
            });
        (
            prop::bool::ANY,
            prop::collection::vec(line, 0..8),
            prop_oneof![
                Just(Discount::None),
                amount(10_000, 2).prop_map(Discount::Percent)
            ],
            amount(3_000, 2),
            amount(1_000_000, 2),
            (-1_000i64..=1_000).prop_map(|u| Decimal::new(u, 2)),
        )
            .prop_map(
                |(group, lines, discount, group_tax_rate, shipping, adjustment)| DocumentInput {
                    mode: if group {
                        TaxMode::Group
                    } else {
                        TaxMode::Individual
                    },
                    lines,
                    discount,
                    group_tax_rate,
                    shipping,
                    adjustment,
                },
            )
    }

    proptest! {
        #[test]
        fn totals_add_up(input in document()) {
            match compute(&input) {
                Ok(t) => {
                    prop_assert_eq!(t.subtotal, t.lines.iter().map(|l| l.net).sum::<Decimal>());
                    prop_assert_eq!(
                        t.grand_total,
                        t.subtotal - t.discount + t.tax + input.shipping + input.adjustment
                    );
                    for l in &t.lines {
                        prop_assert_eq!(l.total, l.net + l.tax);
                        prop_assert!(!l.net.is_sign_negative());
                    }
                    match input.mode {
                        TaxMode::Individual => {
                            prop_assert_eq!(t.tax, t.lines.iter().map(|l| l.tax).sum::<Decimal>())
                        }
                        TaxMode::Group => prop_assert!(t.lines.iter().all(|l| l.tax.is_zero())),
                    }
                    for value in [t.subtotal, t.discount, t.tax, t.grand_total] {
                        prop_assert!(value.scale() <= CENTS || value.normalize().scale() <= CENTS);
                    }
                    prop_assert!(t.discount <= t.subtotal);
                    prop_assert!(!t.grand_total.is_sign_negative());
                }
                // Only a negative adjustment can push the total below zero.
                Err(e) => prop_assert_eq!(e.field, "adjustment"),
            }
        }

        #[test]
        fn per_line_rounding_stays_within_half_a_cent_per_line(input in document()) {
            if let Ok(t) = compute(&input) {
                for (line, totals) in input.lines.iter().zip(&t.lines) {
                    let exact_gross = line.quantity * line.list_price;
                    let exact_net = match line.discount {
                        Discount::Percent(p) => exact_gross * (Decimal::ONE_HUNDRED - p) / Decimal::ONE_HUNDRED,
                        _ => exact_gross,
                    };
                    // Gross and discount are each rounded once.
                    prop_assert!((totals.net - exact_net).abs() <= Decimal::new(1, 2));
                }
            }
        }

        #[test]
        fn an_amount_discount_never_exceeds_what_it_discounts(
            price in amount(1_000_000, 2), off in discount(2_000_000)
        ) {
            let input = DocumentInput {
                mode: TaxMode::Group,
                lines: vec![LineInput { quantity: Decimal::ONE, list_price: price, discount: off, tax_rate: Decimal::ZERO }],
                discount: Discount::None,
                group_tax_rate: Decimal::ZERO,
                shipping: Decimal::ZERO,
                adjustment: Decimal::ZERO,
            };
            match (compute(&input), off) {
                (Ok(t), _) => prop_assert!(!t.lines[0].net.is_sign_negative()),
                (Err(e), Discount::Amount(a)) => {
                    prop_assert!(a > price);
                    prop_assert_eq!(e.field, "lines.0.discountAmount");
                }
                (Err(e), _) => prop_assert!(false, "unexpected {:?}", e),
            }
        }
    }
}
