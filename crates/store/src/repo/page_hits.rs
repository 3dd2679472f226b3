//! Request counters of the customer pages' rate limits. A bucket names what is counted
//! (`view:<client address>`, `post:<client address>`); each counts requests since
//! `window_start`.

use crate::Result;
use db::Conn;

#[derive(Debug, Clone)]
pub struct Window {
    pub window_start: i64,
    pub hits: i64,
}
db::from_row!(Window { window_start, hits });

/// Counts one request in `bucket` and returns its window: a window older than `since`
/// starts over at `now`.
pub async fn hit(c: &mut Conn, bucket: &str, now: i64, since: i64) -> Result<Window> {
    c.query_one(
        "INSERT INTO page_hits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN page_hits.window_start < $3 THEN 1 ELSE page_hits.hits + 1 END, \
           window_start = CASE WHEN page_hits.window_start < $3 THEN $2 ELSE page_hits.window_start END \
         RETURNING window_start, hits",
        db::args![bucket, now, since],
    )
    .await
}

/// Forgets windows that ended before `before` (housekeeping).
pub async fn purge(c: &mut Conn, before: i64) -> Result<u64> {
    c.execute(
        "DELETE FROM page_hits WHERE window_start < $1",
        db::args![before],
    )
    .await
}
