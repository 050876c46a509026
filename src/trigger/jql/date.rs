//! Date values: reading absolute and relative dates, and resolving them against "now".

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::ast::DateValue;

/// The largest offset a relative date may have: about 10,000 years, in minutes.
const MAX_OFFSET_MINUTES: i64 = 10_000 * 366 * 24 * 60;

/// Reads an absolute date (`2026-01-31`, `2026/01/31 10:00`) or a relative one
/// (`-1d`, `"-1w 2d"`, `4h`).
pub(crate) fn parse_literal(text: &str) -> Option<DateValue> {
    let text = text.trim();
    if let Some(at) = parse_absolute(text) {
        return Some(DateValue::At(at));
    }
    parse_offset(text, None).map(DateValue::Relative)
}

/// `yyyy-MM-dd` or `yyyy/MM/dd`, optionally followed by `HH:mm`.
fn parse_absolute(text: &str) -> Option<PrimitiveDateTime> {
    let (day, time) = match text.split_once(char::is_whitespace) {
        Some((day, time)) => (day, Some(time.trim_start())),
        None => (text, None),
    };
    let separator = if day.contains('/') { '/' } else { '-' };
    let mut parts = day.split(separator);
    let year = number(parts.next()?, 4, 4)?;
    let month = number(parts.next()?, 1, 2)?;
    let day_of_month = number(parts.next()?, 1, 2)?;
    if parts.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day_of_month).ok()?,
    )
    .ok()?;
    let time = match time {
        None => Time::MIDNIGHT,
        Some(time) => {
            let (hour, minute) = time.split_once(':')?;
            Time::from_hms(
                u8::try_from(number(hour, 1, 2)?).ok()?,
                u8::try_from(number(minute, 2, 2)?).ok()?,
                0,
            )
            .ok()?
        }
    };
    Some(PrimitiveDateTime::new(date, time))
}

/// `digits` of `min..=max` ASCII digits as a number.
fn number(digits: &str, min: usize, max: usize) -> Option<u32> {
    if !(min..=max).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A signed offset: `-1d`, `+4h`, `30m`, `"-1w 2d"` (the sign applies to every
/// part). Without a unit a number counts as `default_unit`, when there is one.
pub(crate) fn parse_offset(text: &str, default_unit: Option<char>) -> Option<Duration> {
    let text = text.trim();
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut minutes: i64 = 0;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 12 {
            return None;
        }
        let amount: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = match rest.chars().next() {
            Some(u @ ('w' | 'd' | 'h' | 'm')) => {
                rest = &rest[1..];
                u
            }
            None if parts == 0 => default_unit?,
            _ => return None,
        };
        minutes = minutes.checked_add(amount.checked_mul(unit_minutes(unit))?)?;
        parts += 1;
        rest = rest.trim_start();
    }
    if parts == 0 || minutes > MAX_OFFSET_MINUTES {
        return None;
    }
    Some(Duration::minutes(if negative { -minutes } else { minutes }))
}

fn unit_minutes(unit: char) -> i64 {
    match unit {
        'w' => 7 * 24 * 60,
        'd' => 24 * 60,
        'h' => 60,
        _ => 1,
    }
}

/// An offset in the largest unit that divides it exactly: `-1w`, `36h`, `0m`.
pub(crate) fn format_offset(offset: Duration) -> String {
    let minutes = offset.whole_minutes();
    let (amount, unit) = ['w', 'd', 'h']
        .into_iter()
        .map(|u| (unit_minutes(u), u))
        .find(|(size, _)| minutes != 0 && minutes % size == 0)
        .map_or((minutes, 'm'), |(size, u)| (minutes / size, u));
    format!("{amount}{unit}")
}

/// The moment `value` stands for when the time is `now`; offsets past the
/// calendar's ends stop there.
pub(crate) fn resolve(value: DateValue, now: OffsetDateTime) -> OffsetDateTime {
    let today = now
        .checked_to_offset(UtcOffset::UTC)
        .unwrap_or(now)
        .replace_time(Time::MIDNIGHT);
    match value {
        DateValue::At(at) => at.assume_utc(),
        DateValue::Now => now,
        DateValue::Relative(offset) => shift(now, offset),
        DateValue::StartOfDay(offset) => shift(today, offset),
        DateValue::EndOfDay(offset) => {
            shift(shift(today, Duration::DAY) - Duration::NANOSECOND, offset)
        }
    }
}

fn shift(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    at.checked_add(by).unwrap_or_else(|| {
        let end = if by.is_negative() {
            PrimitiveDateTime::MIN
        } else {
            PrimitiveDateTime::MAX
        };
        end.assume_utc()
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn reads_absolute_dates_as_utc() {
        let cases = [
            ("2026-01-31", datetime!(2026-01-31 0:00)),
            ("2026/01/31", datetime!(2026-01-31 0:00)),
            ("2026-1-5 9:05", datetime!(2026-01-05 9:05)),
            ("2026-01-31   10:00", datetime!(2026-01-31 10:00)),
            (" 2024-02-29 23:59 ", datetime!(2024-02-29 23:59)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_literal(text), Some(DateValue::At(want)), "{text}");
        }
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-01-31 24:00",
            "2026-01-31 10:5",
            "2026-01-31T10:00",
            "26-01-31",
            "2026-01/31",
            "2026-01-31-01",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_literal(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_relative_offsets() {
        let cases = [
            ("-1d", -Duration::DAY),
            ("-4h", -Duration::hours(4)),
            ("-30m", -Duration::minutes(30)),
            ("1w", Duration::WEEK),
            ("+2d", Duration::days(2)),
            ("-1w 2d", -Duration::days(9)),
            ("-1w2d3h", -(Duration::days(9) + Duration::hours(3))),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_literal(text),
                Some(DateValue::Relative(want)),
                "{text}"
            );
        }
        for bad in [
            "1",
            "-",
            "-d",
            "1x",
            "1D",
            "-1d -2d",
            "1 d",
            "9999999999999w",
        ] {
            assert_eq!(parse_literal(bad), None, "{bad}");
        }
        assert_eq!(parse_offset("-1", Some('d')), Some(-Duration::DAY));
        assert_eq!(parse_offset("-1", None), None);
    }

    #[test]
    fn formats_offsets_in_the_largest_exact_unit() {
        assert_eq!(format_offset(-Duration::WEEK), "-1w");
        assert_eq!(format_offset(Duration::hours(36)), "36h");
        assert_eq!(format_offset(Duration::minutes(90)), "90m");
        assert_eq!(format_offset(Duration::ZERO), "0m");
    }

    #[test]
    fn resolves_days_in_utc_and_clamps_far_offsets() {
        let now = datetime!(2026-03-10 01:30 +02:00);
        assert_eq!(
            resolve(DateValue::StartOfDay(Duration::ZERO), now),
            datetime!(2026-03-09 0:00 UTC)
        );
        assert_eq!(
            resolve(DateValue::EndOfDay(-Duration::DAY), now),
            datetime!(2026-03-08 23:59:59.999_999_999 UTC)
        );
        assert_eq!(
            resolve(DateValue::Relative(-Duration::hours(4)), now),
            datetime!(2026-03-09 21:30 +02:00)
        );
        let far = Duration::days(8_000_000);
        assert_eq!(
            resolve(DateValue::Relative(far), now),
            PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            resolve(DateValue::Relative(-far), now),
            PrimitiveDateTime::MIN.assume_utc()
        );
    }
}
