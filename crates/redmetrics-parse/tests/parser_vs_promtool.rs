//! Differential test: on a corpus of valid and malformed expositions, our text parser
//! accepts exactly what `promtool check metrics` (Prometheus 2.42's own parser) accepts.
//! promtool exits 1 when the input does not parse, 0 or 3 (lint findings) when it does.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use redmetrics_parse::parse_text;

/// promtool's exit code on `exposition`.
fn promtool_check(exposition: &[u8]) -> i32 {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("promtool not found: run scripts/test (it installs Debian's `prometheus`)");
    child.stdin.take().unwrap().write_all(exposition).unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

const BASE: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",path=\"/v1/x\",status=\"200\"} 42\n# HELP d_seconds Latency.\n# TYPE d_seconds histogram\nd_seconds_bucket{le=\"0.5\"} 1\nd_seconds_bucket{le=\"+Inf\"} 2\nd_seconds_sum 0.9\nd_seconds_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\ng -1.5e3 1700000000000\n";

/// Hand-picked cases: each line of the format's grammar, valid and broken.
fn corpus() -> Vec<Vec<u8>> {
    let cases: &[&str] = &[
        "",
        "\n\n",
        "   \n",
        "# just a comment\n",
        "#\n",
        "# HELP\n",
        "# HELP x\n",
        "# HELP x \n",
        "# TYPE x\n",
        "# TYPE x \n",
        "# TYPE x counter\n",
        "# TYPE x Counter\n",
        "# TYPE x gauge_histogram\n",
        "# TYPE x counters\n",
        "# TYPE x counter \n",
        "# HELP x one\\ntwo \\\\ three\n",
        "# HELP x bad \\t escape\n",
        "# HELP x a\n# HELP x b\n",
        "# TYPE x gauge\n# TYPE x gauge\n",
        "x 1\n# TYPE x gauge\n",
        "x 1\n# HELP x late help is fine\n",
        "#HELP x-y z\n",
        "x 1\n",
        "x 1",
        "x 1\ny 2",
        "x 1 \n",
        "x 1 123\n",
        "x 1 123 \n",
        "x 1 123 456\n",
        "x 1 12.5\n",
        "x 1 -5\n",
        "x +Inf\n",
        "x -inf\n",
        "x NaN\n",
        "x nan\n",
        "x Infinity\n",
        "x 1e3\n",
        "x .5\n",
        "x 5.\n",
        "x +5\n",
        "x 0x10\n",
        "x 1_000\n",
        "x one\n",
        "x\n",
        "x{} 1\n",
        "x {} 1\n",
        "x{ } 1\n",
        "x{a=\"b\"} 1\n",
        "x{a=\"b\",} 1\n",
        "x{a=\"b\" , c=\"d\" } 1\n",
        "x{a = \"b\"} 1\n",
        "x{a=\"b\"}1\n",
        "x{a=b} 1\n",
        "x{a=\"b} 1\n",
        "x{a=\"b\\\"c\\\\d\\ne\"} 1\n",
        "x{a=\"b\\tc\"} 1\n",
        "x{a=\"b\",a=\"c\"} 1\n",
        "x{__name__=\"y\"} 1\n",
        "x{__a=\"y\"} 1\n",
        "x{1a=\"y\"} 1\n",
        "x{a-b=\"y\"} 1\n",
        "x{a=\"y\"\n",
        "{a=\"b\"} 1\n",
        "9x 1\n",
        "x-y 1\n",
        ":x 1\n",
        "x:y 1\n",
        "  x 1\n",
        "\tx\t1\t5\n",
        "x 1\r\n",
        "x{a=\"ü\"} 1\n",
        "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket 2\n",
        "# TYPE s summary\ns{quantile=\"high\"} 1\n",
        "# TYPE s summary\ns{quantile=\"0.5\",quantile=\"0.9\"} 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\",le=\"2\"} 1\n",
        "a 1\nb 1\na 2\n",
        "x 1\nx 1\n",
    ];
    cases.iter().map(|c| c.as_bytes().to_vec()).collect()
}

/// Number edge cases, each as a sample value, a histogram `le`, a summary `quantile` and a
/// timestamp: overflow beyond `f64` (Prometheus refuses it), subnormals and underflow (it
/// accepts them), hex and octal forms, `_` separators, signs, and the spellings of the
/// special values.
fn numbers() -> Vec<Vec<u8>> {
    let tokens = [
        // range: the largest double, the first decimal that rounds past it, the exact
        // half-way point between it and 2^1024 (rounds to even: overflow), far beyond
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
        "1.797693134862315807937289714053034150799341327710736640e308",
        "1e308",
        "1e309",
        "1e310",
        "-1e310",
        "1E310",
        "1e+310",
        "1e99999999999999999999",
        "123456789e300",
        "0.000000001e318",
        // subnormals and underflow
        "2.2250738585072014e-308",
        "2.2250738585072011e-308",
        "4.9406564584124654e-324",
        "5e-324",
        "2.4703282292062328e-324",
        "2.4703282292062327e-324",
        "1e-320",
        "1e-400",
        "-1e-400",
        "1e-99999999999999999999",
        // hex, octal, binary
        "0x10",
        "0X10",
        "0x1p-3",
        "0x1P-3",
        "0x1.8p1",
        "0x_1p-3",
        "0x",
        "0o17",
        "0b101",
        "017",
        "0017.5",
        // underscores
        "1_000",
        "_1",
        "1_",
        "1.0_1",
        "1e1_0",
        // signs and forms
        "+1",
        "-1",
        "+-1",
        "--1",
        "+",
        "-",
        "-0",
        "+0.0",
        ".5",
        "-.5",
        "5.",
        "+5.e-1",
        ".",
        ".e1",
        "1e",
        "1e+",
        "1e-",
        "1e+-1",
        "1.5.2",
        "1,5",
        " 1",
        // special values
        "Inf",
        "+Inf",
        "-Inf",
        "inf",
        "+inf",
        "INF",
        "Infinity",
        "-infinity",
        "+INFINITY",
        "infinit",
        "infinityy",
        "NaN",
        "nan",
        "NAN",
        "+NaN",
        "-nan",
        "nanx",
    ];
    let mut out = Vec::new();
    for t in tokens {
        out.push(format!("x {t}\n"));
        out.push(format!("x 1 {t}\n"));
        out.push(format!("# TYPE h histogram\nh_bucket{{le=\"{t}\"}} 1\n"));
        out.push(format!("# TYPE s summary\ns{{quantile=\"{t}\"}} 1\n"));
    }
    out.into_iter().map(String::into_bytes).collect()
}

/// Deterministic mutations of a valid exposition: one byte replaced, or the input cut.
fn mutations() -> Vec<Vec<u8>> {
    let base = BASE.as_bytes();
    let bytes = [
        b' ', b'\t', b'{', b'}', b'"', b'\\', b'=', b',', b'\n', b'a', b'1', b'#', b'-', b'.', b'_',
    ];
    let mut out = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..160 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % base.len();
        let mut v = base.to_vec();
        if seed.is_multiple_of(7) {
            v.truncate(at);
        } else {
            v[at] = bytes[(seed >> 20) as usize % bytes.len()];
        }
        out.push(v);
    }
    out
}

#[test]
fn accepts_exactly_what_promtool_accepts() {
    let inputs: Vec<Vec<u8>> = corpus()
        .into_iter()
        .chain(numbers())
        .chain(mutations())
        .collect();
    // Two workers: promtool is a separate process per input.
    let halves: Vec<Vec<(Vec<u8>, i32)>> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(inputs.len().div_ceil(2))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|i| (i.clone(), promtool_check(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut disagreements = Vec::new();
    let mut accepted = 0;
    for (input, code) in halves.into_iter().flatten() {
        let promtool_accepts = code != 1;
        let ours = parse_text(&input);
        accepted += usize::from(promtool_accepts);
        if ours.is_ok() != promtool_accepts {
            disagreements.push(format!(
                "{:?}: promtool exit {code}, ours {:?}",
                String::from_utf8_lossy(&input),
                ours.err()
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        accepted > 40,
        "the corpus holds valid inputs too ({accepted})"
    );
}
