//! A card connector reached over HTTP: the standalone sandbox (`dealerpay sandbox-processor`,
//! served by the `api` crate's sandbox routes), as a real processor's API would be.

use crate::*;
use reqwest::StatusCode;
use std::time::Duration;

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoidBody {
    pub key: String,
    pub charge_key: String,
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureBody {
    pub amount_cents: i64,
}

/// A processor reached over HTTP (the standalone sandbox).
pub struct HttpConnector {
    name: String,
    base: String,
    client: reqwest::Client,
}

impl HttpConnector {
    /// A sandbox at `base`, selected by dealers as `name`.
    pub fn new(name: &str, base: &str, timeout: Duration) -> HttpConnector {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // Keep every connection a busy server opened: closing the surplus after each
            // burst churns through ephemeral ports (each closed one waits in TIME_WAIT for a
            // minute) until new connections, to the processor or from clients, fail. Idle
            // connections still close after the pool's idle timeout.
            .pool_max_idle_per_host(usize::MAX)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .expect("HTTP client builds");
        HttpConnector {
            name: name.to_ascii_uppercase(),
            base: base.trim_end_matches('/').to_string(),
            client,
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let resp = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                ConnectorError::Timeout
            } else {
                ConnectorError::Unavailable(format!("sandbox unreachable: {}", without_url(&e)))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| {
                if e.is_timeout() {
                    ConnectorError::Timeout
                } else {
                    ConnectorError::Unavailable(format!("bad sandbox answer: {}", without_url(&e)))
                }
            });
        }
        let msg = resp.text().await.unwrap_or_default();
        Err(match status {
            StatusCode::NOT_FOUND => ConnectorError::NotFound,
            StatusCode::CONFLICT | StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                ConnectorError::Rejected(msg.chars().take(200).collect())
            }
            StatusCode::GATEWAY_TIMEOUT => ConnectorError::Timeout,
            s => ConnectorError::Unavailable(format!("sandbox answered {s}")),
        })
    }
}

/// reqwest errors print the URL; ours carry no secrets, but keep messages short and stable.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<sandbox>");
    }
    s
}

impl CardConnector for HttpConnector {
    fn name(&self) -> &str {
        &self.name
    }
    fn inspect(&self, m: &PaymentMethod) -> Result<CardInfo, ConnectorError> {
        crate::sandbox::inspect(m)
    }
    fn charge(&self, req: ChargeRequest) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/charges", self.base))
                    .json(&req),
            )
            .await
        })
    }
    fn complete(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/charges/{key}/complete", self.base)),
            )
            .await
        })
    }
    fn lookup(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>> {
        Box::pin(async move {
            match self
                .call(
                    self.client
                        .get(format!("{}/sandbox/v1/charges/{key}", self.base)),
                )
                .await
            {
                Ok(o) => Ok(Some(o)),
                Err(ConnectorError::NotFound) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
    fn resolve(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/charges/{key}/resolve", self.base)),
            )
            .await
        })
    }
    fn capture(
        &self,
        key: String,
        amount_cents: i64,
    ) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move {
            let body = CaptureBody { amount_cents };
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/charges/{key}/capture", self.base))
                    .json(&body),
            )
            .await
        })
    }
    fn release(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/charges/{key}/release", self.base)),
            )
            .await
        })
    }
    fn refund(&self, req: RefundRequest) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/refunds", self.base))
                    .json(&req),
            )
            .await
        })
    }
    fn void(
        &self,
        key: String,
        charge_key: String,
    ) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>> {
        Box::pin(async move {
            let body = VoidBody { key, charge_key };
            self.call(
                self.client
                    .post(format!("{}/sandbox/v1/voids", self.base))
                    .json(&body),
            )
            .await
        })
    }
    fn ledger(&self) -> BoxFut<'_, Result<Vec<LedgerEntry>, ConnectorError>> {
        Box::pin(async move {
            self.call(self.client.get(format!("{}/sandbox/v1/ledger", self.base)))
                .await
        })
    }
}
