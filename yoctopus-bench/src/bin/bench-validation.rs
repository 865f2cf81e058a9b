//! What reading and checking a request's `data` costs, per request and per field, beside
//! serde_json's typed deserialization of the same struct (issue 13: validation within 1.2× of
//! serde's typed deserialization, which checks less). The throughput benchmark cannot see a cost of
//! this size through the transport, so this program times the generated reader alone.
//!
//! It times exactly what the server runs per request. When a frame's `meta` comes before its
//! `data`, the server's one-pass envelope reader calls the endpoint's `ReadData` on the frame's text
//! from where `data`'s value starts to the end of the frame (the envelope's closing brace
//! included): a `serde_json::Deserializer` over that text, one value read from it as `Fast<T>`
//! (that is, `RequestFormat::deserialize_fast`), its byte offset, and the request boxed as
//! `dyn Any`. The generated reader here is that very function, `<T as FromCall>::READ`, and serde's
//! typed deserialization runs the same steps (the same text, the same stream deserializer, the same
//! box) with a plain `#[derive(serde::Deserialize)]` struct of the same shape. For information it
//! also times the thorough way, `from_json` on a `serde_json::Value`, alone and with the parse into
//! a `Value` that precedes it when the fast way fails.
//!
//! The requests are the load generator's own frames (64 of them, ids and names varying), read in
//! turn. Each case is warmed up, then calibrated to samples of about `--sample-us` microseconds:
//! short, so that most samples run between two interruptions on a shared machine. The samples of
//! all cases are interleaved, one of each case per round (rotating which goes first), so that a
//! slow stretch of the machine hits every case alike; each case is summarized by the median of its
//! samples, and each ratio by the median of the ratios between samples of the same round, so that
//! the samples a preemption lands in do not move either. The run stops after `--samples` rounds or
//! `--max-seconds`, whichever comes first.
//!
//! Run it with `taskset -c 1 cargo run --release -p yoctopus-bench --bin bench-validation [--
//! --samples 2001 --sample-us 200 --warmup-ms 300 --max-seconds 60]`; it prints a markdown table.

use std::any::Any;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use yoctopus_bench::cli::Flags;
use yoctopus_bench::order::{Order, Status};
use yoctopus_bench::procfs;
use yoctopus_bench::request::{client_name, RequestKind};
use yoctopus_core::__private::ReadData;
use yoctopus_core::prelude::*;
use yoctopus_core::{validate, FromCall};

/// The flat format: the greeter's `greeter:hello` request, derived the same way.
#[derive(RequestFormat)]
struct Hello {
    name: String,
}

/// The same shapes as [`Order`] and [`Hello`] for plain serde: the same field names and types
/// (an email is a `String`, the union of literals a serde enum), and no check beyond serde's types.
mod plain {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(crate) struct Order {
        pub(crate) id: String,
        pub(crate) customer: Customer,
        pub(crate) status: Status,
        pub(crate) items: Vec<Item>,
        pub(crate) note: Option<String>,
        pub(crate) total: f64,
        pub(crate) currency: String,
        pub(crate) gift: bool,
    }

    #[derive(Deserialize)]
    pub(crate) struct Customer {
        pub(crate) name: String,
        pub(crate) email: String,
        pub(crate) age: u32,
        pub(crate) vip: bool,
        pub(crate) address: Address,
    }

    #[derive(Deserialize)]
    pub(crate) struct Address {
        pub(crate) street: String,
        pub(crate) city: String,
        pub(crate) zip: String,
        pub(crate) country: String,
    }

    #[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
    #[serde(rename_all = "lowercase")]
    pub(crate) enum Status {
        Pending,
        Paid,
        Shipped,
    }

    #[derive(Deserialize)]
    pub(crate) struct Item {
        pub(crate) sku: String,
        pub(crate) quantity: u32,
        pub(crate) price: f64,
    }

    #[derive(Deserialize)]
    pub(crate) struct Hello {
        pub(crate) name: String,
    }
}

/// Fields of each format, counted as the issue counts them: every declared field once, an array's
/// element format once (see `yoctopus_bench::order`).
const NESTED_FIELDS: usize = 20;
const FLAT_FIELDS: usize = 1;

/// How many different frames are read in turn.
const FRAMES: usize = 64;

/// serde's typed deserialization, step for step what the server's `ReadData` does with a
/// request format: a stream deserializer over the rest of the frame, one value, its byte offset,
/// the value boxed.
fn read_plain<T: for<'de> Deserialize<'de> + Send + 'static>(
    text: &str,
) -> Option<(Box<dyn Any + Send>, usize)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Some((Box::new(value), values.byte_offset())),
        _ => None,
    }
}

/// The generated reader: the function the server's envelope reader calls for an endpoint taking
/// `T`.
fn generated_reader<T: RequestFormat + Send + 'static>() -> ReadData {
    <T as FromCall>::READ.expect("a request format reads its request with the envelope")
}

/// The load generator's frames of one kind.
fn frames(kind: RequestKind) -> Vec<String> {
    (0..FRAMES)
        .map(|index| {
            let mut out = Vec::new();
            kind.write(
                &mut out,
                1_000_000 + index as u64 * 7919,
                &client_name(index),
            );
            String::from_utf8(out).expect("the load generator writes UTF-8")
        })
        .collect()
}

/// The text the server's `ReadData` is given: from where `data`'s value starts to the frame's end.
fn data_onwards(frame: &str) -> &str {
    const KEY: &str = r#","data":"#;
    let start = frame.find(KEY).expect("the frame has data after meta") + KEY.len();
    &frame[start..]
}

/// `data`'s value alone: the text after it is the envelope's closing brace.
fn data_alone(onwards: &str) -> &str {
    onwards
        .strip_suffix('}')
        .expect("data is the envelope's last field")
}

/// One thing to time: runs `iterations` readings and says how long they took, preparation (such
/// as cloning the values a reader consumes) left out.
struct Case {
    /// What `--cases` names it by.
    id: &'static str,
    /// The id of the serde case it is compared with.
    baseline: &'static str,
    request: &'static str,
    reader: &'static str,
    fields: usize,
    run: Box<dyn FnMut(usize) -> Duration>,
}

/// A case timing a [`ReadData`] over the texts it is given, as the server calls it.
fn read_case(
    (id, baseline): (&'static str, &'static str),
    request: &'static str,
    reader: &'static str,
    fields: usize,
    read: ReadData,
    texts: Vec<String>,
) -> Case {
    let run = move |iterations: usize| {
        let read = black_box(read);
        let start = Instant::now();
        for index in 0..iterations {
            let text = black_box(texts[index % texts.len()].as_str());
            let (request, used) = read(text).expect("the reader accepts the benchmark's request");
            black_box((request, used));
        }
        start.elapsed()
    };
    Case {
        id,
        baseline,
        request,
        reader,
        fields,
        run: Box::new(run),
    }
}

/// A case timing the thorough way from a `Value` already parsed: the values are cloned before
/// the clock starts, and each is consumed by `validate`.
fn thorough_case<T: RequestFormat + 'static>(
    (id, baseline): (&'static str, &'static str),
    request: &'static str,
    fields: usize,
    data: &[String],
) -> Case {
    let values: Vec<Value> = data
        .iter()
        .map(|text| serde_json::from_str(text).expect("data is JSON"))
        .collect();
    let run = move |iterations: usize| {
        let batch: Vec<Value> = (0..iterations)
            .map(|index| values[index % values.len()].clone())
            .collect();
        let start = Instant::now();
        for value in batch {
            let read = validate::<T>(black_box(value));
            black_box(read.is_ok());
            drop(black_box(read));
        }
        start.elapsed()
    };
    Case {
        id,
        baseline,
        request,
        reader: "thorough: `from_json` on a `Value`",
        fields,
        run: Box::new(run),
    }
}

/// A case timing the thorough way from text: `data` parsed into a `Value`, then `validate`.
fn thorough_from_text_case<T: RequestFormat + 'static>(
    (id, baseline): (&'static str, &'static str),
    request: &'static str,
    fields: usize,
    data: Vec<String>,
) -> Case {
    let run = move |iterations: usize| {
        let start = Instant::now();
        for index in 0..iterations {
            let text = black_box(data[index % data.len()].as_str());
            let value: Value = serde_json::from_str(text).expect("data is JSON");
            let read = validate::<T>(value);
            black_box(read.is_ok());
            drop(black_box(read));
        }
        start.elapsed()
    };
    Case {
        id,
        baseline,
        request,
        reader: "thorough: text → `Value` → `from_json`",
        fields,
        run: Box::new(run),
    }
}

/// Checks, before anything is timed, that both readers accept every frame, read the same values,
/// and stop where `data` ends.
fn check_readers_agree(nested: &[String], flat: &[String]) -> Result<(), String> {
    for text in nested {
        let (generated, used) =
            generated_reader::<Order>()(text).ok_or("the generated reader refused an order")?;
        let (plain, plain_used) =
            read_plain::<plain::Order>(text).ok_or("serde refused an order")?;
        let generated = generated.downcast::<Order>().map_err(|_| "not an Order")?;
        let plain = plain
            .downcast::<plain::Order>()
            .map_err(|_| "not a plain Order")?;
        if used != plain_used || used != data_alone(text).len() {
            return Err(format!(
                "the readers stopped at {used} and {plain_used}, not where data ends"
            ));
        }
        if !orders_agree(&generated, &plain) {
            return Err(format!("the readers read different orders from {text}"));
        }
    }
    for text in flat {
        let (generated, _) =
            generated_reader::<Hello>()(text).ok_or("the generated reader refused a greeting")?;
        let (plain, _) = read_plain::<plain::Hello>(text).ok_or("serde refused a greeting")?;
        let generated = generated.downcast::<Hello>().map_err(|_| "not a Hello")?;
        let plain = plain
            .downcast::<plain::Hello>()
            .map_err(|_| "not a plain Hello")?;
        if generated.name != plain.name {
            return Err(format!("the readers read different names from {text}"));
        }
    }
    Ok(())
}

fn orders_agree(generated: &Order, plain: &plain::Order) -> bool {
    let (customer, other) = (&generated.customer, &plain.customer);
    let status = match generated.status {
        Status::Pending => plain::Status::Pending,
        Status::Paid => plain::Status::Paid,
        Status::Shipped => plain::Status::Shipped,
    };
    generated.id == plain.id
        && customer.name == other.name
        && customer.email.as_str() == other.email
        && customer.age == other.age
        && customer.vip == other.vip
        && customer.address.street == other.address.street
        && customer.address.city == other.address.city
        && customer.address.zip == other.address.zip
        && customer.address.country == other.address.country
        && status == plain.status
        && generated.items.len() == plain.items.len()
        && generated.items.iter().zip(&plain.items).all(|(a, b)| {
            a.sku == b.sku && a.quantity == b.quantity && a.price.to_bits() == b.price.to_bits()
        })
        && generated.note == plain.note
        && generated.total.to_bits() == plain.total.to_bits()
        && generated.currency == plain.currency
        && generated.gift == plain.gift
}

/// The timing loop's bounds.
struct Settings {
    samples: usize,
    sample: Duration,
    warmup: Duration,
    max: Duration,
}

/// Iterations that take about `target`: doubled from one until they do, at most 2^24.
fn calibrate(case: &mut Case, target: Duration) -> usize {
    let mut iterations = 1;
    loop {
        let took = (case.run)(iterations);
        if took >= target || iterations >= 1 << 24 {
            return iterations;
        }
        let scale = if took.is_zero() {
            16.0
        } else {
            (target.as_secs_f64() / took.as_secs_f64()).clamp(1.5, 16.0)
        };
        iterations = ((iterations as f64 * scale).ceil() as usize).min(1 << 24);
    }
}

/// Nanoseconds per request of every sample, case by case; one inner vector per case, the samples
/// of a round at the same index.
fn measure(cases: &mut [Case], settings: &Settings) -> Vec<Vec<f64>> {
    let mut iterations = Vec::with_capacity(cases.len());
    for case in cases.iter_mut() {
        let warming = Instant::now();
        while warming.elapsed() < settings.warmup {
            (case.run)(1000);
        }
        iterations.push(calibrate(case, settings.sample));
    }
    let started = Instant::now();
    let mut samples = vec![Vec::with_capacity(settings.samples); cases.len()];
    for round in 0..settings.samples {
        if round > 0 && started.elapsed() >= settings.max {
            break;
        }
        for offset in 0..cases.len() {
            let index = (round + offset) % cases.len();
            let took = (cases[index].run)(iterations[index]);
            samples[index].push(took.as_nanos() as f64 / iterations[index] as f64);
        }
    }
    samples
}

/// The value at quantile `q` (0 to 1) of `values`, interpolated.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = q * (sorted.len() - 1) as f64;
    let (low, high) = (at.floor() as usize, at.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (at - low as f64)
}

/// `median [p25–p75] (min–max)` of `values`, with `digits` decimals.
fn spread(values: &[f64], digits: usize) -> (String, String) {
    (
        format!(
            "{:.digits$}–{:.digits$}",
            quantile(values, 0.25),
            quantile(values, 0.75)
        ),
        format!(
            "{:.digits$}–{:.digits$}",
            quantile(values, 0.0),
            quantile(values, 1.0)
        ),
    )
}

fn ratios(numerator: &[f64], denominator: &[f64]) -> Vec<f64> {
    numerator
        .iter()
        .zip(denominator)
        .map(|(a, b)| a / b)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    flags.allow_only(&[
        "samples",
        "sample-us",
        "warmup-ms",
        "max-seconds",
        "cases",
        "ablation",
    ])?;
    let settings = Settings {
        samples: flags.get_or("samples", 2001usize)?.max(1),
        sample: Duration::from_micros(flags.get_or("sample-us", 200u64)?.max(1)),
        warmup: Duration::from_millis(flags.get_or("warmup-ms", 300u64)?),
        max: Duration::from_secs(flags.get_or("max-seconds", 60u64)?),
    };

    let nested_frames = frames(RequestKind::Nested);
    let flat_frames = frames(RequestKind::Greeter);
    let onwards = |frames: &[String]| -> Vec<String> {
        frames
            .iter()
            .map(|frame| data_onwards(frame).to_owned())
            .collect()
    };
    let (nested, flat) = (onwards(&nested_frames), onwards(&flat_frames));
    check_readers_agree(&nested, &flat)?;

    let mut cases = main_cases(&nested, &flat);
    if flags.get_or("ablation", false)? {
        cases.extend(ablation::cases(&nested));
    }
    if let Some(wanted) = flags.text("cases") {
        let wanted: Vec<&str> = wanted.split(',').collect();
        let kept: Vec<&str> = cases
            .iter()
            .filter(|case| wanted.contains(&case.id))
            .flat_map(|case| [case.id, case.baseline])
            .collect();
        cases.retain(|case| kept.contains(&case.id));
        if cases.is_empty() {
            return Err(format!(
                "`--cases` names no case; the cases are {}",
                ids(&main_cases(&nested, &flat))
            )
            .into());
        }
    }

    let started = Instant::now();
    let samples = measure(&mut cases, &settings);
    let elapsed = started.elapsed();

    let cpus = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .map(|cpus| cpus.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let load = procfs::load_average().map_or_else(|_| "unknown".to_owned(), |l| format!("{l:.2}"));
    println!(
        "# Validation cost: the generated reader against serde's typed deserialization\n\n\
         {} samples of about {} µs per case, interleaved, after {} ms of warm-up per case \
         ({:.1} s in all); CPUs allowed: {cpus}; load average: {load}.\n",
        samples[0].len(),
        settings.sample.as_micros(),
        settings.warmup.as_millis(),
        elapsed.as_secs_f64(),
    );
    println!(
        "| request | reader | ns/request (median) | p25–p75 | min–max | ns/field | × serde typed, median [p25–p75] |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    let position = |id: &str| cases.iter().position(|case| case.id == id);
    for (index, case) in cases.iter().enumerate() {
        let median = quantile(&samples[index], 0.5);
        let (quartiles, range) = spread(&samples[index], 0);
        let versus = match position(case.baseline) {
            Some(baseline) if baseline != index => {
                let paired = ratios(&samples[index], &samples[baseline]);
                format!("{:.3} [{}]", quantile(&paired, 0.5), spread(&paired, 3).0)
            }
            _ => "1".to_owned(),
        };
        println!(
            "| {} | {} | {median:.0} | {quartiles} | {range} | {:.1} | {versus} |",
            case.request,
            case.reader,
            median / case.fields as f64,
        );
    }
    if let (Some(generated), Some(serde)) = (position("nested"), position("nested-serde")) {
        let nested_ratio = ratios(&samples[generated], &samples[serde]);
        let (quartiles, range) = spread(&nested_ratio, 3);
        let median = quantile(&nested_ratio, 0.5);
        println!(
            "\nGenerated reader / serde typed, nested `Order` ({NESTED_FIELDS} fields): {median:.3}× \
             [p25–p75 {quartiles}, min–max {range}]; the goal of at most 1.2× is {}.",
            if median <= 1.2 { "met" } else { "not met" }
        );
        let (generated, serde) = (
            quantile(&samples[generated], 0.5),
            quantile(&samples[serde], 0.5),
        );
        println!(
            "Checks cost {:.1} ns per field beyond serde's ({:.0} ns per request); the generated \
             reader costs {:.1} ns per field in all, serde {:.1}.",
            (generated - serde) / NESTED_FIELDS as f64,
            generated - serde,
            generated / NESTED_FIELDS as f64,
            serde / NESTED_FIELDS as f64,
        );
    }
    Ok(())
}

/// The issue's cases: the nested and the flat request, each read four ways.
fn main_cases(nested: &[String], flat: &[String]) -> Vec<Case> {
    const GENERATED: &str = "generated: `deserialize_fast`, as the server reads";
    const SERDE: &str = "serde typed, no checks";
    const NESTED: &str = "nested `Order`";
    const FLAT: &str = "flat `{name}`";
    let (nested_data, flat_data) = (
        nested
            .iter()
            .map(|text| data_alone(text).to_owned())
            .collect::<Vec<_>>(),
        flat.iter()
            .map(|text| data_alone(text).to_owned())
            .collect::<Vec<_>>(),
    );
    vec![
        read_case(
            ("nested", "nested-serde"),
            NESTED,
            GENERATED,
            NESTED_FIELDS,
            generated_reader::<Order>(),
            nested.to_vec(),
        ),
        read_case(
            ("nested-serde", "nested-serde"),
            NESTED,
            SERDE,
            NESTED_FIELDS,
            read_plain::<plain::Order>,
            nested.to_vec(),
        ),
        thorough_case::<Order>(
            ("nested-thorough", "nested-serde"),
            NESTED,
            NESTED_FIELDS,
            &nested_data,
        ),
        thorough_from_text_case::<Order>(
            ("nested-thorough-text", "nested-serde"),
            NESTED,
            NESTED_FIELDS,
            nested_data,
        ),
        read_case(
            ("flat", "flat-serde"),
            FLAT,
            GENERATED,
            FLAT_FIELDS,
            generated_reader::<Hello>(),
            flat.to_vec(),
        ),
        read_case(
            ("flat-serde", "flat-serde"),
            FLAT,
            SERDE,
            FLAT_FIELDS,
            read_plain::<plain::Hello>,
            flat.to_vec(),
        ),
        thorough_case::<Hello>(
            ("flat-thorough", "flat-serde"),
            FLAT,
            FLAT_FIELDS,
            &flat_data,
        ),
        thorough_from_text_case::<Hello>(
            ("flat-thorough-text", "flat-serde"),
            FLAT,
            FLAT_FIELDS,
            flat_data,
        ),
    ]
}

fn ids(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|case| case.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--ablation`: where the generated reader's extra time goes. Each part of the order read alone,
/// both ways, from the same text (the part as it appears in the request); and the whole order with
/// one checked kind (the email, the union of literals) read as a plain `String`, against the same
/// serde struct.
#[allow(
    dead_code,
    reason = "the formats' fields are read to be timed, not used"
)]
mod ablation {
    use serde_json::Value;
    use yoctopus_core::prelude::*;

    use super::{generated_reader, plain, read_case, read_plain, Case, NESTED_FIELDS};
    use yoctopus_bench::order::{Address, Customer, Item, Status};

    /// The order with `customer.email` a plain `String`.
    #[derive(RequestFormat)]
    pub(super) struct OrderWithPlainEmail {
        id: String,
        customer: CustomerWithPlainEmail,
        status: Status,
        items: Vec<Item>,
        note: Option<String>,
        total: f64,
        currency: String,
        gift: bool,
    }

    #[derive(RequestFormat)]
    pub(super) struct CustomerWithPlainEmail {
        name: String,
        email: String,
        age: u32,
        vip: bool,
        address: Address,
    }

    /// The order with `status` a plain `String`.
    #[derive(RequestFormat)]
    pub(super) struct OrderWithPlainStatus {
        id: String,
        customer: Customer,
        status: String,
        items: Vec<Item>,
        note: Option<String>,
        total: f64,
        currency: String,
        gift: bool,
    }

    /// `{"email": ...}` checked, against the same as a `String`.
    #[derive(RequestFormat)]
    pub(super) struct JustEmail {
        email: Email,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct PlainJustEmail {
        email: String,
    }

    /// The order for serde with the checks it lacks: the email checked by [`Email::parse`] (one pass
    /// over its bytes), the status already a closed enum. What the generated reader could
    /// cost with serde's own key matching and a one-pass email check.
    #[derive(serde::Deserialize)]
    pub(super) struct CheckedOrder {
        id: String,
        customer: CheckedCustomer,
        status: plain::Status,
        items: Vec<plain::Item>,
        note: Option<String>,
        total: f64,
        currency: String,
        gift: bool,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct CheckedCustomer {
        name: String,
        #[serde(deserialize_with = "one_pass_email")]
        email: String,
        age: u32,
        vip: bool,
        address: plain::Address,
    }

    /// `{"email": ...}` checked by [`Email::parse`].
    #[derive(serde::Deserialize)]
    pub(super) struct OnePassEmail {
        #[serde(deserialize_with = "one_pass_email")]
        email: String,
    }

    fn one_pass_email<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<String, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Email::parse(text)
            .map(Email::into_string)
            .map_err(|_| serde::de::Error::custom("expected email"))
    }

    pub(super) fn cases(nested: &[String]) -> Vec<Case> {
        const GENERATED: &str = "generated";
        const SERDE: &str = "serde typed";
        let part = |pointer: &str| -> Vec<String> {
            nested
                .iter()
                .map(|text| {
                    let data: Value =
                        serde_json::from_str(super::data_alone(text)).expect("data is JSON");
                    data.pointer(pointer)
                        .expect("the part is there")
                        .to_string()
                })
                .collect()
        };
        let (address, customer, items, status) = (
            part("/customer/address"),
            part("/customer"),
            part("/items"),
            part("/status"),
        );
        let email: Vec<String> = part("/customer/email")
            .into_iter()
            .map(|email| format!(r#"{{"email":{email}}}"#))
            .collect();
        let email_for_one_pass = email.clone();
        vec![
            read_case(
                ("address", "address-serde"),
                "`Address` alone (4 strings)",
                GENERATED,
                4,
                generated_reader::<Address>(),
                address.clone(),
            ),
            read_case(
                ("address-serde", "address-serde"),
                "`Address` alone (4 strings)",
                SERDE,
                4,
                read_plain::<plain::Address>,
                address,
            ),
            read_case(
                ("customer", "customer-serde"),
                "`Customer` alone (9 fields, email, address)",
                GENERATED,
                9,
                generated_reader::<Customer>(),
                customer.clone(),
            ),
            read_case(
                ("customer-serde", "customer-serde"),
                "`Customer` alone (9 fields, email, address)",
                SERDE,
                9,
                read_plain::<plain::Customer>,
                customer,
            ),
            read_case(
                ("items", "items-serde"),
                "`items` alone (`Vec<Item>`, 2 × 3 fields)",
                GENERATED,
                3,
                generated_reader::<Vec<Item>>(),
                items.clone(),
            ),
            read_case(
                ("items-serde", "items-serde"),
                "`items` alone (`Vec<Item>`, 2 × 3 fields)",
                SERDE,
                3,
                read_plain::<Vec<plain::Item>>,
                items,
            ),
            read_case(
                ("status", "status-serde"),
                "`status` alone (union of literals)",
                GENERATED,
                1,
                generated_reader::<Status>(),
                status.clone(),
            ),
            read_case(
                ("status-serde", "status-serde"),
                "`status` alone (union of literals)",
                SERDE,
                1,
                read_plain::<plain::Status>,
                status,
            ),
            read_case(
                ("email", "email-serde"),
                "`{email}` (`Email` against `String`)",
                GENERATED,
                1,
                generated_reader::<JustEmail>(),
                email.clone(),
            ),
            read_case(
                ("email-serde", "email-serde"),
                "`{email}` (`Email` against `String`)",
                SERDE,
                1,
                read_plain::<PlainJustEmail>,
                email,
            ),
            read_case(
                ("email-one-pass", "email-serde"),
                "`{email}` (`Email` against `String`)",
                "serde + `Email::parse` (the one-pass check)",
                1,
                read_plain::<OnePassEmail>,
                email_for_one_pass,
            ),
            read_case(
                ("nested-serde-checked", "nested-serde"),
                "nested `Order`",
                "serde + the email check in one pass",
                NESTED_FIELDS,
                read_plain::<CheckedOrder>,
                nested.to_vec(),
            ),
            read_case(
                ("nested-plain-email", "nested-serde"),
                "nested, `email` a `String`",
                GENERATED,
                NESTED_FIELDS,
                generated_reader::<OrderWithPlainEmail>(),
                nested.to_vec(),
            ),
            read_case(
                ("nested-plain-status", "nested-serde"),
                "nested, `status` a `String`",
                GENERATED,
                NESTED_FIELDS,
                generated_reader::<OrderWithPlainStatus>(),
                nested.to_vec(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_readers_read_the_same_requests_where_the_server_does() {
        let nested: Vec<String> = frames(RequestKind::Nested)
            .iter()
            .map(|frame| data_onwards(frame).to_owned())
            .collect();
        let flat: Vec<String> = frames(RequestKind::Greeter)
            .iter()
            .map(|frame| data_onwards(frame).to_owned())
            .collect();
        assert!(nested[0].starts_with(r#"{"id":"order-"#));
        assert!(nested[0].ends_with("}}"));
        check_readers_agree(&nested, &flat).unwrap();
    }

    #[test]
    fn a_bad_email_is_refused_by_the_generated_reader_only() {
        let text = data_onwards(&frames(RequestKind::Nested)[0]).replace("@example.com", "");
        assert!(generated_reader::<Order>()(&text).is_none());
        assert!(read_plain::<plain::Order>(&text).is_some());
    }

    #[test]
    fn a_sample_is_bounded() {
        let mut case = read_case(
            ("flat-serde", "flat-serde"),
            "flat",
            "serde",
            1,
            read_plain::<plain::Hello>,
            vec![r#"{"name":"a"}}"#.to_owned()],
        );
        let iterations = calibrate(&mut case, Duration::from_millis(1));
        assert!((1..=1 << 24).contains(&iterations));
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
    }
}
