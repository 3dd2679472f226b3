//! Test harness: every test gets its own database (a SQLite file, or a fresh PostgreSQL
//! schema when `DEALERPAY_TEST_DB=postgres`), a real server on an ephemeral port, and a
//! real HTTP client. `process` runs the `dealerpay` binary itself as a child process.
#![allow(dead_code)]

pub mod pdf_text;
pub mod process;

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

pub const OPERATOR: &str = "test-operator-token-0123456789";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: api::app::AppState,
    pub database_url: String,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Which backend the suite runs on.
pub fn backend() -> &'static str {
    match std::env::var("DEALERPAY_TEST_DB").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    }
}

pub fn postgres_base() -> String {
    std::env::var("DEALERPAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database URL for one test.
pub async fn fresh_database() -> (String, Option<TempDir>) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let tag = format!(
        "{}_{}_{}",
        std::process::id(),
        n,
        uuid::Uuid::new_v4().simple()
    );
    if backend() == "postgres" {
        let base = postgres_base();
        let db = db::Db::connect(&base).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {base} is required for DEALERPAY_TEST_DB=postgres: {e}")
        });
        let schema = format!("t_{tag}");
        exec(&db, format!("CREATE SCHEMA {schema}"), vec![]).await;
        db.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        (
            format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            None,
        )
    } else {
        let dir = std::env::temp_dir().join(format!("dealerpay-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("test.db").display());
        (url, Some(TempDir(dir)))
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Spawns with the configuration adjusted by `tune` (timeouts, sandbox latency…).
    pub async fn spawn_with(tune: impl FnOnce(&mut api::app::Config)) -> TestApp {
        let (url, dir) = fresh_database().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut config = api::app::Config {
            public_url: base.clone(),
            operator_token: Some(OPERATOR.into()),
            // SQLite: the key file defaults to beside the test database; PostgreSQL: one shared file.
            key_file: dir
                .is_none()
                .then(|| std::env::temp_dir().join("dealerpay-test-postgres.key")),
            // Tests post from one address far faster than a customer; the limit has its own test.
            page_views_per_minute: 1_000_000,
            page_posts_per_minute: 1_000_000,
            ..Default::default()
        };
        tune(&mut config);
        let state = api::build(&url, config).await.expect("app builds");
        tokio::spawn(api::serve(listener, state.clone(), std::future::pending()));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            client,
            state,
            database_url: url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn op(&self, method: Method, path: &str) -> RequestBuilder {
        self.req(method, path).bearer_auth(OPERATOR)
    }

    /// Sends and returns (status, JSON body or Null).
    pub async fn send(rb: RequestBuilder) -> (u16, Value) {
        let r: Response = rb.send().await.expect("request sent");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn put_op(&self, path: &str, body: Value) -> (u16, Value) {
        TestApp::send(self.op(Method::PUT, path).json(&body)).await
    }

    /// Seeds a dealer with department, associate, customer, vehicle, an open order and an
    /// invoice through the real upsert routes.
    pub async fn seed(&self, amount: f64) -> Seed {
        let s = Seed::new();
        let (st, b) = self.put_op(&format!("/payment/kpayment/v1/dealers/{}", s.dealer), json!({
            "name": "Test Motors",
            "settings": {"surchargeEnabled": true, "surchargePercent": 3.5, "salesTaxEnabled": true, "salesTaxPercent": 10}
        })).await;
        assert!(st == 201 || st == 200, "dealer: {st} {b}");
        self.ok(
            self.put_op(
                &format!(
                    "/payment/kpayment/v1/dealers/{}/departments/{}",
                    s.dealer, s.department
                ),
                json!({"name": "Service", "departmentType": "SERVICE"}),
            )
            .await,
            "department",
        );
        self.ok(self.put_op(&format!("/payment/kpayment/v1/dealers/{}/associates/{}", s.dealer, s.associate),
            json!({"userUuid": uuid::Uuid::new_v4(), "firstName": "Sam", "lastName": "Advisor", "departmentUuid": s.department})).await, "associate");
        self.ok(
            self.put_op(
                &format!(
                    "/payment/kpayment/v1/dealers/{}/customers/{}",
                    s.dealer, s.customer
                ),
                json!({"firstName": "Jo", "lastName": "Rivera", "email": "jo@example.com"}),
            )
            .await,
            "customer",
        );
        self.ok(self.put_op(&format!("/payment/kpayment/v1/dealers/{}/vehicles/{}", s.dealer, s.vehicle),
            json!({"customerUuid": s.customer, "vin": "1HGCM82633A004352", "make": "Honda", "profile": {"model": "Accord"}})).await, "vehicle");
        self.ok(self.put_op(&format!("/payment/kpayment/v1/dealers/{}/orders/{}", s.dealer, s.order), json!({
            "orderNumber": format!("RO-{}", &s.order[..8]), "orderType": "RO", "amount": amount,
            "departmentUuid": s.department, "customerUuid": s.customer, "vehicleUuid": s.vehicle,
            "dealerAssociateUuid": s.associate
        })).await, "order");
        self.ok(self.put_op(&format!("/payment/kpayment/v1/invoices/{}", s.invoice), json!({
            "paymentDealer": {"dealerUuid": s.dealer}, "paymentDealerOrder": {"dealerOrderUuid": s.order},
            "paymentCustomer": {"customerUuid": s.customer}, "paymentUser": {"dealerAssociateUUID": s.associate},
            "amount": amount, "invoiceAttributes": {"laborTotal": "10.00"}
        })).await, "invoice");
        s
    }

    fn ok(&self, (st, b): (u16, Value), what: &str) {
        assert_eq!(st, 200, "{what}: {b}");
    }

    /// A Checkout namespace `ns` on `seed`'s dealer (by the operator).
    pub async fn checkout_namespace(&self, seed: &Seed, ns: &str, name: &str) {
        let (st, b) = TestApp::send(
            self.op(Method::POST, "/payment/checkout/v1/namespaces")
                .json(
                    &json!({"namespace": ns, "name": name, "dealerUuid": seed.dealer,
                    "departmentUuid": seed.department, "dealerAssociateUUID": seed.associate}),
                ),
        )
        .await;
        assert_eq!(st, 201, "{b}");
    }

    /// A new API key of namespace `ns`: (key, key id).
    pub async fn checkout_key(&self, ns: &str) -> (String, String) {
        let (st, b) = TestApp::send(
            self.op(
                Method::POST,
                &format!("/payment/checkout/v1/namespaces/{ns}/api-keys"),
            )
            .json(&json!({"label": "web"})),
        )
        .await;
        assert_eq!(st, 201, "{b}");
        (
            b["apiKey"].as_str().unwrap().to_string(),
            b["id"].as_str().unwrap().to_string(),
        )
    }

    /// Exchanges an API key of namespace `ns` for an access token: the status and the answer.
    pub async fn checkout_exchange(&self, ns: &str, key: &str) -> (u16, Value) {
        TestApp::send(
            self.req(
                Method::POST,
                &format!("/payment/checkout/v1/namespaces/{ns}/token"),
            )
            .json(&json!({ "apiKey": key })),
        )
        .await
    }

    /// A Checkout merchant ready to call: namespace `ns` on `seed`'s dealer, a key, and an
    /// access token for it.
    pub async fn checkout_merchant(&self, seed: &Seed, ns: &str) -> String {
        self.checkout_namespace(seed, ns, "Test Motors Online")
            .await;
        let (key, _) = self.checkout_key(ns).await;
        let (st, b) = self.checkout_exchange(ns, &key).await;
        assert_eq!(st, 200, "{b}");
        b["accessToken"].as_str().unwrap().to_string()
    }

    /// A fresh, unique namespace name.
    pub fn new_namespace() -> String {
        format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
    }

    /// Creates a partner and returns (uuid, username, secret).
    pub async fn partner(&self, grants: &[(&str, Option<&str>, &str)]) -> Partner {
        let name = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let (st, b) = TestApp::send(
            self.op(Method::POST, "/payment/admin/v1/partners")
                .json(&json!({"username": name})),
        )
        .await;
        assert_eq!(st, 201, "{b}");
        let p = Partner {
            uuid: b["partner"]["uuid"].as_str().unwrap().into(),
            username: name,
            secret: b["partner"]["secret"].as_str().unwrap().into(),
        };
        for (dealer, dept, scope) in grants {
            let (st, b) = TestApp::send(
                self.op(
                    Method::POST,
                    &format!("/payment/admin/v1/partners/{}/grants", p.uuid),
                )
                .json(&json!({"dealerUuid": dealer, "departmentUuid": dept, "scope": scope})),
            )
            .await;
            assert_eq!(st, 200, "{b}");
        }
        p
    }

    pub async fn payment_request(&self, s: &Seed, body: Value) -> (u16, Value) {
        let mut body = body;
        body["dealerUuid"] = json!(s.dealer);
        if body.get("invoiceGuid").is_none() {
            body["invoiceGuid"] = json!(s.invoice);
        }
        TestApp::send(
            self.op(Method::POST, "/payment/kpayment/v1/paymentrequest")
                .json(&body),
        )
        .await
    }

    /// Runs SQL against the test database (for arranging states such as an elapsed ttl).
    pub async fn sql(&self, sql: &str) {
        exec(self.db(), sql, vec![]).await;
    }

    /// The server's own database pool.
    pub fn db(&self) -> &db::Db {
        &self.state.engine.db
    }

    /// The server's processor for provider `SANDBOX` (the in-process sandbox).
    pub fn processor(&self) -> &std::sync::Arc<dyn connectors::CardConnector> {
        self.state
            .engine
            .connectors
            .card("SANDBOX")
            .expect("the SANDBOX processor is configured")
    }
}

/// An owned statement argument. The closures of `db::Db::read`/`write` must own what they
/// use, so the helpers below take these and bind them as `db::Value`s inside the closure.
/// Build them with `.into()`: `vec![guid.into(), 42i64.into()]`.
#[derive(Debug, Clone)]
pub enum Arg {
    Null,
    Int(i64),
    Text(String),
}

impl Arg {
    pub fn value(&self) -> db::Value<'_> {
        match self {
            Arg::Null => db::Value::Null,
            Arg::Int(i) => db::Value::Int(*i),
            Arg::Text(s) => db::Value::Text(s),
        }
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Arg {
        Arg::Int(v.into())
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Int(v as i64)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(v.clone())
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Arg {
        v.map_or(Arg::Null, Into::into)
    }
}

fn values(args: &[Arg]) -> Vec<db::Value<'_>> {
    args.iter().map(Arg::value).collect()
}

/// The first column of the first row of a read, as an integer (`COUNT(*)`, cents, flags).
pub async fn scalar(db: &db::Db, sql: impl Into<String>, args: Vec<Arg>) -> i64 {
    scalar_as::<i64>(db, sql, args).await
}

/// The first column of the first row of a read (`String`, `Option<String>`, `i64`…).
pub async fn scalar_as<T: db::Decode + Send + 'static>(
    db: &db::Db,
    sql: impl Into<String>,
    args: Vec<Arg>,
) -> T {
    let sql = sql.into();
    let q = sql.clone();
    db.read(move |c| Box::pin(async move { c.scalar_one::<T>(&q, &values(&args)).await }))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The first column of every row of a read.
pub async fn scalars<T: db::Decode + Send + 'static>(
    db: &db::Db,
    sql: impl Into<String>,
    args: Vec<Arg>,
) -> Vec<T> {
    let sql = sql.into();
    let q = sql.clone();
    db.read(move |c| Box::pin(async move { c.scalar_all::<T>(&q, &values(&args)).await }))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The first row of a read (a tuple of `i64`/`String`/`Option<_>`/`bool`).
pub async fn row<T: db::FromRow + Send + 'static>(
    db: &db::Db,
    sql: impl Into<String>,
    args: Vec<Arg>,
) -> T {
    let sql = sql.into();
    let q = sql.clone();
    db.read(move |c| Box::pin(async move { c.query_one::<T>(&q, &values(&args)).await }))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a read.
pub async fn rows<T: db::FromRow + Send + 'static>(
    db: &db::Db,
    sql: impl Into<String>,
    args: Vec<Arg>,
) -> Vec<T> {
    let sql = sql.into();
    let q = sql.clone();
    db.read(move |c| Box::pin(async move { c.query_all::<T>(&q, &values(&args)).await }))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs a statement that changes data, as its own write transaction; the rows it changed.
pub async fn exec(db: &db::Db, sql: impl Into<String>, args: Vec<Arg>) -> u64 {
    let sql = sql.into();
    let q = sql.clone();
    db.write(move |c| Box::pin(async move { c.execute(&q, &values(&args)).await }))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub struct Partner {
    pub uuid: String,
    pub username: String,
    pub secret: String,
}

impl Partner {
    pub fn auth(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.basic_auth(&self.username, Some(&self.secret))
    }
}

#[derive(Clone)]
pub struct Seed {
    pub dealer: String,
    pub department: String,
    pub associate: String,
    pub customer: String,
    pub vehicle: String,
    pub order: String,
    pub invoice: String,
}

impl Seed {
    fn new() -> Seed {
        let u = || uuid::Uuid::new_v4().to_string();
        Seed {
            dealer: u(),
            department: u(),
            associate: u(),
            customer: u(),
            vehicle: u(),
            order: u(),
            invoice: u(),
        }
    }
}

/// Asserts a v1 error envelope with `title` (and returns its description).
pub fn v1_error(body: &Value, title: &str) -> String {
    let e = &body["errors"][0];
    assert_eq!(e["errorTitle"], title, "expected {title}, got {body}");
    assert!(e["errorCode"].is_i64(), "{body}");
    assert!(body["warnings"].is_array(), "{body}");
    e["errorDescription"].as_str().unwrap_or("").to_string()
}

/// Asserts a v3 error envelope with `code`.
pub fn v3_error(body: &Value, code: &str) -> String {
    assert_eq!(
        body["error"]["errorCode"], code,
        "expected {code}, got {body}"
    );
    body["error"]["errorDescription"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
