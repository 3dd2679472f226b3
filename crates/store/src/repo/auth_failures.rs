//! Failed sign-in counters for the authentication throttle. A bucket names what is counted
//! (`addr:<client address>`, `user:<username>`); each counts failures since `window_start`.

use crate::Result;
use db::Conn;

#[derive(Debug, Clone)]
pub struct Bucket {
    pub bucket: String,
    pub window_start: i64,
    pub failures: i64,
}
db::from_row!(Bucket {
    bucket,
    window_start,
    failures
});

/// The buckets among `names` whose window began at or after `since`.
pub async fn current(c: &mut Conn, names: [&str; 2], since: i64) -> Result<Vec<Bucket>> {
    c.query_all(
        "SELECT bucket, window_start, failures FROM auth_failures \
         WHERE bucket IN ($1, $2) AND window_start >= $3",
        db::args![names[0], names[1], since],
    )
    .await
}

/// Counts one failure in `bucket`: a window older than `since` starts over at `now`.
pub async fn record(c: &mut Conn, bucket: &str, now: i64, since: i64) -> Result<()> {
    c.execute(
        "INSERT INTO auth_failures (bucket, window_start, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           failures = CASE WHEN auth_failures.window_start < $3 THEN 1 ELSE auth_failures.failures + 1 END, \
           window_start = CASE WHEN auth_failures.window_start < $3 THEN $2 ELSE auth_failures.window_start END",
        db::args![bucket, now, since],
    )
    .await?;
    Ok(())
}

/// Forgets windows that ended before `before` (housekeeping).
pub async fn purge(c: &mut Conn, before: i64) -> Result<u64> {
    c.execute(
        "DELETE FROM auth_failures WHERE window_start < $1",
        db::args![before],
    )
    .await
}
