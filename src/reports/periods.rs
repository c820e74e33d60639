//! Periods relative to today ("this month", "last quarter") as ranges of days, reckoned in the
//! tenant's time zone.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::definition::Period;

/// Today in `zone`.
pub fn today(zone: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// The days of `period` as of `today`: from the first (inclusive) to the last (exclusive).
/// `days` counts the days of `LAST_N_DAYS` and `NEXT_N_DAYS`.
pub fn range(period: Period, days: i32, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let day = |d: NaiveDate| Some((d, d.succ_opt()?));
    let month_start = today.with_day(1)?;
    let quarter_start = NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)?;
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1)?;
    let week_start = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let n = u64::try_from(days).ok()?;
    match period {
        Period::Today => day(today),
        Period::Yesterday => day(today.pred_opt()?),
        Period::ThisWeek => Some((week_start, week_start + Days::new(7))),
        Period::LastWeek => Some((week_start - Days::new(7), week_start)),
        Period::ThisMonth => Some((month_start, month_start + Months::new(1))),
        Period::LastMonth => Some((month_start - Months::new(1), month_start)),
        Period::ThisQuarter => Some((quarter_start, quarter_start + Months::new(3))),
        Period::LastQuarter => Some((quarter_start - Months::new(3), quarter_start)),
        Period::ThisYear => Some((year_start, year_start + Months::new(12))),
        Period::LastYear => Some((year_start - Months::new(12), year_start)),
        Period::YearToDate => Some((year_start, today.succ_opt()?)),
        Period::LastNDays => Some((
            today.checked_sub_days(Days::new(n.checked_sub(1)?))?,
            today.succ_opt()?,
        )),
        Period::NextNDays => Some((today, today.checked_add_days(Days::new(n + 1))?)),
    }
}

/// The period before `(from, to)`, a range of `period`: the month before this month, the same
/// days a year earlier for the year to date, the `days` days before the last `days`.
pub fn previous(period: Period, from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let months = |n: u32| {
        Some((
            from.checked_sub_months(Months::new(n))?,
            to.checked_sub_months(Months::new(n))?,
        ))
    };
    match period {
        Period::ThisMonth | Period::LastMonth => months(1),
        Period::ThisQuarter | Period::LastQuarter => months(3),
        Period::ThisYear | Period::LastYear | Period::YearToDate => months(12),
        Period::Today
        | Period::Yesterday
        | Period::ThisWeek
        | Period::LastWeek
        | Period::LastNDays
        | Period::NextNDays => {
            let length = u64::try_from((to - from).num_days()).ok()?;
            Some((from.checked_sub_days(Days::new(length))?, from))
        }
    }
}

/// The instant a local day begins in `zone` (the first valid time, across a DST gap).
pub fn start_of(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(Default::default());
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        // No zone skips a whole day; this is only reached on such a gap.
        .unwrap_or_else(|| midnight.and_utc())
}

/// The zone's offset from UTC now, in minutes: how SQLite, which has no zone database, shifts
/// times into local ones.
pub fn offset_minutes(zone: Tz, now: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    now.with_timezone(&zone).offset().fix().local_minus_utc() / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn periods_cover_the_calendar_around_today() {
        let today = date(2026, 2, 11); // a Wednesday
        let cases = [
            (Period::Today, 0, date(2026, 2, 11), date(2026, 2, 12)),
            (Period::Yesterday, 0, date(2026, 2, 10), date(2026, 2, 11)),
            (Period::ThisWeek, 0, date(2026, 2, 9), date(2026, 2, 16)),
            (Period::LastWeek, 0, date(2026, 2, 2), date(2026, 2, 9)),
            (Period::ThisMonth, 0, date(2026, 2, 1), date(2026, 3, 1)),
            (Period::LastMonth, 0, date(2026, 1, 1), date(2026, 2, 1)),
            (Period::ThisQuarter, 0, date(2026, 1, 1), date(2026, 4, 1)),
            (Period::LastQuarter, 0, date(2025, 10, 1), date(2026, 1, 1)),
            (Period::ThisYear, 0, date(2026, 1, 1), date(2027, 1, 1)),
            (Period::LastYear, 0, date(2025, 1, 1), date(2026, 1, 1)),
            (Period::YearToDate, 0, date(2026, 1, 1), date(2026, 2, 12)),
            (Period::LastNDays, 7, date(2026, 2, 5), date(2026, 2, 12)),
            (Period::NextNDays, 3, date(2026, 2, 11), date(2026, 2, 15)),
        ];
        for (period, days, from, to) in cases {
            assert_eq!(range(period, days, today), Some((from, to)), "{period:?}");
        }
        // No days, or a negative number of them, is no period (not a panic).
        assert_eq!(range(Period::LastNDays, 0, today), None);
        assert_eq!(range(Period::NextNDays, -3, today), None);
    }

    #[test]
    fn previous_periods_are_as_long_as_the_current_ones() {
        let today = date(2026, 3, 31);
        let previous_of = |period, days| {
            let (from, to) = range(period, days, today).unwrap();
            previous(period, from, to).unwrap()
        };
        assert_eq!(
            previous_of(Period::ThisMonth, 0),
            (date(2026, 2, 1), date(2026, 3, 1))
        );
        assert_eq!(
            previous_of(Period::ThisQuarter, 0),
            (date(2025, 10, 1), date(2026, 1, 1))
        );
        assert_eq!(
            previous_of(Period::YearToDate, 0),
            (date(2025, 1, 1), date(2025, 4, 1))
        );
        assert_eq!(
            previous_of(Period::LastNDays, 30),
            (date(2026, 1, 31), date(2026, 3, 2))
        );
        assert_eq!(
            previous_of(Period::Today, 0),
            (date(2026, 3, 30), date(2026, 3, 31))
        );
    }

    #[test]
    fn local_days_begin_at_local_midnight() {
        let jakarta: Tz = "Asia/Jakarta".parse().unwrap();
        let start = start_of(date(2026, 12, 1), jakarta);
        assert_eq!(start.to_rfc3339(), "2026-11-30T17:00:00+00:00");
        let now = start + chrono::Duration::hours(1);
        assert_eq!(today(jakarta, now), date(2026, 12, 1));
        assert_eq!(offset_minutes(jakarta, now), 420);
    }
}
