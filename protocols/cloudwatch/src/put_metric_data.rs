//! PutMetricData: reading the input shape and CloudWatch's validation of it.
//!
//! Messages follow CloudWatch's own wording (`The value X for parameter MetricData.member.1.Unit is invalid.`),
//! with awsQuery member paths, as CloudWatch reports them whatever protocol the request came in.

use crate::error::CloudWatchError;
use crate::value::Value;
use strait_aws::time::parse_iso8601;

/// CloudWatch's limits (PutMetricData API reference and the service model).
pub const MAX_NAMESPACE: usize = 255;
pub const MAX_METRIC_NAME: usize = 255;
pub const MAX_DATUMS: usize = 1000;
pub const MAX_DIMENSIONS: usize = 30;
pub const MAX_DIMENSION_NAME: usize = 255;
pub const MAX_DIMENSION_VALUE: usize = 1024;
pub const MAX_VALUES: usize = 150;
/// Data points may be up to two weeks old and two hours ahead.
const MAX_PAST_SECS: f64 = 14.0 * 86_400.0;
const MAX_FUTURE_SECS: f64 = 2.0 * 3600.0;
/// CloudWatch rejects magnitudes above 2^360.
const MAX_MAGNITUDE: f64 = 2.348_542_582_773_833_3e108;

/// The `StandardUnit` enum.
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// What one datum contributes: the last value, a sum and a sample count.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub last: f64,
    pub sum: f64,
    pub count: f64,
}

/// One validated metric datum.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: String,
    /// Sorted by name: a metric's identity is its set of dimensions, not their order.
    pub dimensions: Vec<(String, String)>,
    pub unit: Option<String>,
    pub figures: Figures,
}

/// A validated PutMetricData request.
#[derive(Debug, Clone, PartialEq)]
pub struct PutMetricData {
    pub namespace: String,
    pub data: Vec<Datum>,
}

fn invalid(value: impl std::fmt::Display, param: &str) -> CloudWatchError {
    CloudWatchError::InvalidParameterValue(format!(
        "The value {value} for parameter {param} is invalid."
    ))
}

fn missing(param: &str) -> CloudWatchError {
    CloudWatchError::MissingParameter(format!("The parameter {param} is required."))
}

fn exclusive(a: &str, b: &str) -> CloudWatchError {
    CloudWatchError::InvalidParameterCombination(format!(
        "The parameters {a} and {b} are mutually exclusive and you have specified both."
    ))
}

fn string<'a>(v: Option<&'a Value>, param: &str) -> Result<Option<&'a str>, CloudWatchError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CloudWatchError::Serialization(format!(
            "{param} must be a string"
        ))),
    }
}

fn number(v: Option<&Value>, param: &str) -> Result<Option<f64>, CloudWatchError> {
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Num(n)) => *n,
        // awsQuery sends every number as text.
        Some(Value::Str(s)) => s.trim().parse::<f64>().map_err(|_| invalid(s, param))?,
        Some(_) => {
            return Err(CloudWatchError::Serialization(format!(
                "{param} must be a number"
            )));
        }
    };
    if !n.is_finite() || n.abs() > MAX_MAGNITUDE {
        return Err(invalid(n, param));
    }
    Ok(Some(n))
}

fn list<'a>(v: Option<&'a Value>, param: &str) -> Result<&'a [Value], CloudWatchError> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::List(l)) => Ok(l),
        Some(_) => Err(CloudWatchError::Serialization(format!(
            "{param} must be a list"
        ))),
    }
}

/// ASCII without control characters, as CloudWatch requires of names and dimension values.
fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|c| (0x20..0x7f).contains(&c))
}

fn text(v: Option<&Value>, param: &str, max: usize) -> Result<String, CloudWatchError> {
    let s = string(v, param)?.ok_or_else(|| missing(param))?;
    if s.is_empty() || s.len() > max || !printable_ascii(s) || s.trim().is_empty() {
        return Err(invalid(s, param));
    }
    Ok(s.to_string())
}

/// Reads and validates a PutMetricData input; `now_secs` bounds the timestamps.
pub(crate) fn parse(input: &Value, now_secs: f64) -> Result<PutMetricData, CloudWatchError> {
    let namespace = text(input.get("Namespace"), "Namespace", MAX_NAMESPACE)?;
    if namespace.starts_with("AWS/") {
        return Err(invalid(&namespace, "Namespace"));
    }
    // EntityMetricData carries more data under an entity; Strait keeps the metrics and ignores the entity.
    let mut items: Vec<&Value> = list(input.get("MetricData"), "MetricData")?
        .iter()
        .collect();
    for e in list(input.get("EntityMetricData"), "EntityMetricData")? {
        items.extend(list(e.get("MetricData"), "EntityMetricData.MetricData")?);
    }
    if items.is_empty() {
        return Err(missing("MetricData"));
    }
    if items.len() > MAX_DATUMS {
        return Err(CloudWatchError::InvalidParameterValue(format!(
            "The collection MetricData must not have a size greater than {MAX_DATUMS}."
        )));
    }
    let data = items
        .into_iter()
        .enumerate()
        .map(|(i, d)| datum(d, &format!("MetricData.member.{}", i + 1), now_secs))
        .collect::<Result<_, _>>()?;
    Ok(PutMetricData { namespace, data })
}

fn datum(d: &Value, p: &str, now_secs: f64) -> Result<Datum, CloudWatchError> {
    if !matches!(d, Value::Map(_)) {
        return Err(CloudWatchError::Serialization(format!(
            "{p} must be a structure"
        )));
    }
    let metric = text(
        d.get("MetricName"),
        &format!("{p}.MetricName"),
        MAX_METRIC_NAME,
    )?;
    let dims = list(d.get("Dimensions"), &format!("{p}.Dimensions"))?;
    if dims.len() > MAX_DIMENSIONS {
        return Err(CloudWatchError::InvalidParameterValue(format!(
            "The collection {p}.Dimensions must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut dimensions = Vec::with_capacity(dims.len());
    for (j, dim) in dims.iter().enumerate() {
        let dp = format!("{p}.Dimensions.member.{}", j + 1);
        let name = text(dim.get("Name"), &format!("{dp}.Name"), MAX_DIMENSION_NAME)?;
        if name.starts_with(':') {
            return Err(invalid(&name, &format!("{dp}.Name")));
        }
        let value = text(
            dim.get("Value"),
            &format!("{dp}.Value"),
            MAX_DIMENSION_VALUE,
        )?;
        if dimensions.iter().any(|(n, _)| *n == name) {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "No metric may have duplicate dimension names; {dp}.Name {name} is repeated."
            )));
        }
        dimensions.push((name, value));
    }
    dimensions.sort();

    let unit = match string(d.get("Unit"), &format!("{p}.Unit"))? {
        None => None,
        Some(u) if UNITS.contains(&u) => Some(u.to_string()),
        Some(u) => return Err(invalid(u, &format!("{p}.Unit"))),
    };
    if let Some(r) = number(
        d.get("StorageResolution"),
        &format!("{p}.StorageResolution"),
    )? && r != 1.0
        && r != 60.0
    {
        return Err(invalid(r, &format!("{p}.StorageResolution")));
    }
    let tp = format!("{p}.Timestamp");
    let ts = match d.get("Timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::Time(t) | Value::Num(t)) => Some(*t),
        Some(Value::Str(s)) => Some(
            parse_iso8601(s)
                .or_else(|| s.parse::<f64>().ok())
                .ok_or_else(|| invalid(s, &tp))?,
        ),
        Some(_) => {
            return Err(CloudWatchError::Serialization(format!(
                "{tp} must be a timestamp"
            )));
        }
    };
    if let Some(t) = ts {
        if !t.is_finite() || t < now_secs - MAX_PAST_SECS {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "The parameter {tp} must specify a time no more than two weeks in the past."
            )));
        }
        if t > now_secs + MAX_FUTURE_SECS {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "The parameter {tp} must specify a time no more than two hours in the future."
            )));
        }
    }

    let (vp, sp, vsp, cp) = (
        format!("{p}.Value"),
        format!("{p}.StatisticValues"),
        format!("{p}.Values"),
        format!("{p}.Counts"),
    );
    let value = number(d.get("Value"), &vp)?;
    let stats = match d.get("StatisticValues") {
        None | Some(Value::Null) => None,
        Some(s) => Some(s),
    };
    let values = list(d.get("Values"), &vsp)?;
    let counts = list(d.get("Counts"), &cp)?;
    if value.is_some() && stats.is_some() {
        return Err(exclusive(&vp, &sp));
    }
    if value.is_some() && !values.is_empty() {
        return Err(exclusive(&vp, &vsp));
    }
    if stats.is_some() && !values.is_empty() {
        return Err(exclusive(&sp, &vsp));
    }
    if !counts.is_empty() && values.is_empty() {
        return Err(CloudWatchError::InvalidParameterCombination(format!(
            "The parameter {cp} must be specified together with {vsp}."
        )));
    }
    let figures = if let Some(v) = value {
        Figures {
            last: v,
            sum: v,
            count: 1.0,
        }
    } else if let Some(s) = stats {
        let f = |n: &str| -> Result<f64, CloudWatchError> {
            let q = format!("{sp}.{n}");
            number(s.get(n), &q)?.ok_or_else(|| missing(&q))
        };
        let (count, sum, min, max) = (f("SampleCount")?, f("Sum")?, f("Minimum")?, f("Maximum")?);
        if count < 0.0 {
            return Err(invalid(count, &format!("{sp}.SampleCount")));
        }
        if min > max {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "The parameter {sp}.Maximum must be greater than {sp}.Minimum."
            )));
        }
        let last = if count > 0.0 { sum / count } else { 0.0 };
        Figures { last, sum, count }
    } else if !values.is_empty() {
        if values.len() > MAX_VALUES {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "The collection {vsp} must not have a size greater than {MAX_VALUES}."
            )));
        }
        if !counts.is_empty() && counts.len() != values.len() {
            return Err(CloudWatchError::InvalidParameterValue(format!(
                "The parameters {vsp} and {cp} must be of the same size."
            )));
        }
        let (mut sum, mut count, mut last) = (0.0, 0.0, 0.0);
        for (k, v) in values.iter().enumerate() {
            let v = number(Some(v), &format!("{vsp}.member.{}", k + 1))?
                .ok_or_else(|| invalid("null", &vsp))?;
            let c = match counts.get(k) {
                None => 1.0,
                Some(c) => number(Some(c), &format!("{cp}.member.{}", k + 1))?
                    .ok_or_else(|| invalid("null", &cp))?,
            };
            if c < 0.0 {
                return Err(invalid(c, &format!("{cp}.member.{}", k + 1)));
            }
            sum += v * c;
            count += c;
            last = v;
        }
        Figures { last, sum, count }
    } else {
        return Err(CloudWatchError::MissingParameter(format!(
            "The parameter {vp}, {sp} or {vsp} is required."
        )));
    };
    Ok(Datum {
        metric,
        dimensions,
        unit,
        figures,
    })
}
