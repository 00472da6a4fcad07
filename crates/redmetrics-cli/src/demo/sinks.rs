//! The demo's local notification sinks: what its Alertmanager's receivers deliver to instead
//! of Slack, PagerDuty and a mail server, so a user sees on the console (and at
//! `/notifications`) which notification went where. Slack's incoming-webhook JSON and
//! PagerDuty's Events v2 arrive over HTTP on the demo's own listener; e-mail over a minimal
//! SMTP listener on a loopback port of its own. Everything is bounded: the last
//! [`KEEP`] notifications, [`MAX_MESSAGE`] bytes a mail, [`SMTP_TIMEOUT`] a session.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use redmetrics::MetricsEndpoint;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Notifications kept for `/notifications`.
pub(crate) const KEEP: usize = 200;
/// Largest e-mail (headers and body) accepted.
pub(crate) const MAX_MESSAGE: usize = 1 << 20;
/// Longest SMTP session.
pub(crate) const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The demo's paths of the HTTP sinks.
pub(crate) const SLACK_PATH: &str = "/sinks/slack";
/// PagerDuty Events v2, as Alertmanager's `url` field points it.
pub(crate) const PAGERDUTY_PATH: &str = "/sinks/pagerduty/v2/enqueue";
/// Where the delivered notifications are listed.
pub(crate) const NOTIFICATIONS_PATH: &str = "/notifications";

/// One delivered notification.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Notification {
    /// `slack`, `pagerduty` or `email`.
    pub(crate) via: &'static str,
    /// The channel, the recipients, or the PagerDuty event action.
    pub(crate) to: String,
    /// The title, subject or summary Alertmanager rendered.
    pub(crate) title: String,
}

/// The notifications received so far, newest last.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inbox(Arc<Mutex<VecDeque<Notification>>>);

impl Inbox {
    fn push(&self, n: Notification) {
        tracing::info!("notification via {} to {}: {}", n.via, n.to, n.title);
        if let Ok(mut all) = self.0.lock() {
            if all.len() == KEEP {
                all.pop_front();
            }
            all.push_back(n);
        }
    }

    fn list(&self) -> Vec<Notification> {
        self.0
            .lock()
            .map(|all| all.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The HTTP sinks and `/notifications`, to be merged into the demo's router (outside the
/// metrics layer: they are the demo's plumbing, not its API). They follow `guard`'s access
/// rules, the metrics endpoint's: with a metrics token, nobody without it reads what was
/// notified or posts a notification.
pub(crate) fn routes(inbox: Inbox, guard: MetricsEndpoint) -> Router {
    Router::new()
        .route(SLACK_PATH, post(slack))
        .route(PAGERDUTY_PATH, post(pagerduty))
        .route(NOTIFICATIONS_PATH, get(list))
        .with_state(inbox)
        .route_layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let guard = guard.clone();
                async move { guarded(&guard, req, next).await }
            },
        ))
}

/// Runs the request only when `guard` admits it; its 401 or 403 otherwise.
async fn guarded(guard: &MetricsEndpoint, req: Request, next: Next) -> Response {
    match guard.refuse(req.headers(), req.extensions()) {
        Some(refused) => refused.into_response(),
        None => next.run(req).await,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn slack(State(inbox): State<Inbox>, Json(body): Json<Value>) -> &'static str {
    inbox.push(Notification {
        via: "slack",
        to: text(&body["channel"]),
        title: text(&body["attachments"][0]["title"]),
    });
    "ok"
}

async fn pagerduty(
    State(inbox): State<Inbox>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    inbox.push(Notification {
        via: "pagerduty",
        to: text(&body["event_action"]),
        title: text(&body["payload"]["summary"]),
    });
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "success",
            "message": "Event processed",
            "dedup_key": body["dedup_key"],
        })),
    )
}

async fn list(State(inbox): State<Inbox>) -> Json<Vec<Notification>> {
    Json(inbox.list())
}

/// Starts the SMTP sink on an ephemeral loopback port; returns its address.
pub(crate) async fn start_smtp(inbox: Inbox) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("SMTP sink")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(SMTP_TIMEOUT, smtp_session(stream, &inbox)).await {
                    Ok(Err(e)) => tracing::warn!("SMTP sink: {e}"),
                    Err(_) => tracing::warn!("SMTP sink: session timed out"),
                    Ok(Ok(())) => {}
                }
            });
        }
    });
    Ok(addr)
}

/// One SMTP session (RFC 5321's minimum: no TLS, no AUTH), storing each message's subject.
async fn smtp_session(stream: TcpStream, inbox: &Inbox) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 redmetrics-demo ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    loop {
        let Some(line) = read_line(&mut read).await? else {
            return Ok(());
        };
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-redmetrics-demo\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
            "RCPT" => {
                recipients.push(line[4..].trim().trim_start_matches("TO:").to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let subject = read_message(&mut read).await?;
                inbox.push(Notification {
                    via: "email",
                    to: recipients.join(", "),
                    title: subject,
                });
                recipients.clear();
                b"250 OK\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// A line without its CRLF, at most [`MAX_MESSAGE`] bytes; `None` at the end of input.
async fn read_line<R: AsyncBufReadExt + Unpin>(read: &mut R) -> Result<Option<String>> {
    let mut buf = Vec::new();
    let n = read
        .take(MAX_MESSAGE as u64)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    anyhow::ensure!(buf.ends_with(b"\n"), "line longer than {MAX_MESSAGE} bytes");
    Ok(Some(
        String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
    ))
}

/// Reads a message up to the lone `.` and returns its (unfolded) `Subject`.
async fn read_message<R: AsyncBufReadExt + Unpin>(read: &mut R) -> Result<String> {
    let mut total = 0;
    let mut in_headers = true;
    let mut subject: Option<String> = None;
    let mut subject_open = false;
    loop {
        let line = read_line(read)
            .await?
            .context("connection closed in DATA")?;
        if line == "." {
            return Ok(subject.unwrap_or_default());
        }
        total += line.len() + 2;
        anyhow::ensure!(
            total <= MAX_MESSAGE,
            "message larger than {MAX_MESSAGE} bytes"
        );
        if !in_headers {
            continue;
        }
        if line.is_empty() {
            in_headers = false;
        } else if line.starts_with([' ', '\t']) {
            if let (true, Some(s)) = (subject_open, subject.as_mut()) {
                s.push(' ');
                s.push_str(line.trim());
            }
        } else {
            subject_open = false;
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("subject")
            {
                subject = Some(value.trim().to_owned());
                subject_open = true;
            }
        }
    }
}
