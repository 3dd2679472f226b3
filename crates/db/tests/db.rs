//! The database layer on the backend the suite runs on (`DEALERPAY_TEST_DB=sqlite|postgres`).

use db::{args, Backend, Db, DbError, Migration};
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

const SCHEMA: &[Migration] = &[Migration {
    version: 1,
    sql: "CREATE TABLE items (id @ID@, name TEXT NOT NULL UNIQUE, qty BIGINT NOT NULL CHECK (qty >= 0));",
}];

async fn fresh() -> (Db, Option<std::path::PathBuf>) {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let tag = format!("{}_{}", std::process::id(), n);
    if std::env::var("DEALERPAY_TEST_DB").as_deref() == Ok("postgres") {
        let base = std::env::var("DEALERPAY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = Db::connect(&base)
            .await
            .expect("PostgreSQL for DEALERPAY_TEST_DB=postgres");
        let schema = format!("dbt_{tag}");
        let ddl = format!("CREATE SCHEMA {schema}");
        admin
            .write(move |c| Box::pin(async move { c.batch(&ddl).await }))
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let db = Db::connect(&format!("{base}{sep}options=-c%20search_path%3D{schema}"))
            .await
            .unwrap();
        db.migrate(SCHEMA).await.unwrap();
        (db, None)
    } else {
        let dir = std::env::temp_dir().join(format!("dealerpay-db-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::connect(dir.join("t.db").to_str().unwrap())
            .await
            .unwrap();
        db.migrate(SCHEMA).await.unwrap();
        (db, Some(dir))
    }
}

async fn count(db: &Db) -> i64 {
    db.read(|c| {
        Box::pin(async move {
            c.query_one::<(i64,)>("SELECT COUNT(*) FROM items", &[])
                .await
        })
    })
    .await
    .unwrap()
    .0
}

#[derive(Debug)]
enum E {
    Db(DbError),
    Refused,
}
impl From<DbError> for E {
    fn from(e: DbError) -> E {
        E::Db(e)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_commit_or_roll_back_alone() {
    let (db, _dir) = fresh().await;
    let before = db.stats();
    let mut tasks = Vec::new();
    for i in 0..300i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.write(move |c| {
                Box::pin(async move {
                    c.execute(
                        "INSERT INTO items (name, qty) VALUES ($1, $2)",
                        args![format!("item-{i}").as_str(), i],
                    )
                    .await?;
                    // Every 7th changes its mind after writing: nothing of it may stay.
                    if i % 7 == 0 {
                        return Err(E::Refused);
                    }
                    Ok(i)
                })
            })
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(E::Refused) => {}
            Err(E::Db(e)) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 300 - 43);
    assert_eq!(count(&db).await, 300 - 43);
    let refused: Vec<(String,)> = db
        .read(|c| {
            Box::pin(async move {
                c.query_all(
                    "SELECT name FROM items WHERE name IN ('item-0', 'item-7', 'item-294')",
                    &[],
                )
                .await
            })
        })
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let after = db.stats();
    assert_eq!(after.transactions - before.transactions, 300);
    if db.backend() == Backend::Sqlite {
        // 300 transactions offered at once share commits.
        assert!(after.commits - before.commits < 300, "{before:?} {after:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_violation_fails_its_transaction_only() {
    let (db, _dir) = fresh().await;
    let insert = |name: &'static str, qty: i64| {
        let db = db.clone();
        async move {
            db.write(move |c| {
                Box::pin(async move {
                    c.execute(
                        "INSERT INTO items (name, qty) VALUES ($1, $2)",
                        args![name, qty],
                    )
                    .await
                })
            })
            .await
        }
    };
    let (a, b, c2, d) = tokio::join!(
        insert("a", 1),
        insert("a", 2),
        insert("neg", -1),
        insert("b", 3)
    );
    let results = [a, b, c2, d];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        2,
        "{results:?}"
    );
    let dup = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| e.is_unique_violation())
        .count();
    assert_eq!(dup, 1);
    assert_eq!(count(&db).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_transaction_is_rolled_back_and_reported() {
    let (db, _dir) = fresh().await;
    let ok = db.clone();
    let good = tokio::spawn(async move {
        ok.write(|c| {
            Box::pin(async move {
                c.execute("INSERT INTO items (name, qty) VALUES ('kept', 1)", &[])
                    .await
            })
        })
        .await
    });
    let bad = db.clone();
    let r = tokio::spawn(async move {
        bad.write(|c| {
            Box::pin(async move {
                c.execute("INSERT INTO items (name, qty) VALUES ('lost', 1)", &[])
                    .await?;
                panic!("boom");
            })
        })
        .await
    })
    .await;
    // SQLite: the writer catches it and answers with an error; PostgreSQL: the closure runs
    // in the caller's task, which panics (the connection, mid-transaction, is discarded).
    match r {
        Ok(r) => {
            let r: Result<u64, DbError> = r;
            assert!(r.is_err())
        }
        Err(e) => assert!(e.is_panic()),
    }
    good.await.unwrap().unwrap();
    let names: Vec<(String,)> = db
        .read(|c| {
            Box::pin(async move {
                c.query_all("SELECT name FROM items ORDER BY name", &[])
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(names, vec![("kept".to_string(),)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_counted_per_task() {
    let (db, _dir) = fresh().await;
    let ((), n) = db::counting(async {
        db.write(|c| {
            Box::pin(async move {
                c.execute("INSERT INTO items (name, qty) VALUES ('x', 1)", &[])
                    .await?;
                c.execute("UPDATE items SET qty = qty + 1 WHERE name = 'x'", &[])
                    .await?;
                Ok::<_, DbError>(())
            })
        })
        .await
        .unwrap();
        let q: (i64, String) = db
            .read(|c| {
                Box::pin(async move {
                    c.query_one("SELECT qty, name FROM items WHERE name = $1", args!["x"])
                        .await
                })
            })
            .await
            .unwrap();
        assert_eq!(q, (2, "x".into()));
    })
    .await;
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_round_trip() {
    let (db, _dir) = fresh().await;
    let row: (i64, Option<i64>, String, Option<String>, bool) = db
        .read(|c| {
            Box::pin(async move {
                c.query_one(
                    "SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT)",
                    args![i64::MAX, None::<i64>, "é\u{1F600}", None::<&str>, true],
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(row, (i64::MAX, None, "é\u{1F600}".into(), None, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_write_leaves_nothing_behind() {
    let (db, _dir) = fresh().await;
    // Dropped after its first statement went out: on PostgreSQL the connection is detached
    // (its transaction rolled back by the server); on SQLite the writer finishes it.
    let w = db.clone();
    let fut = w.write(|c| {
        Box::pin(async move {
            c.execute("INSERT INTO items (name, qty) VALUES ('half', 1)", &[])
                .await?;
            c.execute("INSERT INTO items (name, qty) VALUES ('other', 1)", &[])
                .await?;
            Ok::<_, DbError>(())
        })
    });
    let _ = tokio::time::timeout(std::time::Duration::from_micros(1), fut).await;
    // Every pooled connection still works and sees no open transaction of someone else's.
    for _ in 0..40 {
        db.write(|c| {
            Box::pin(async move {
                c.execute("UPDATE items SET qty = qty WHERE 1 = 0", &[])
                    .await
            })
        })
        .await
        .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let n = count(&db).await;
    assert!(n == 0 || n == 2, "a transaction was half applied: {n} rows");
}
