//! Service subscribers (partners) and their scope grants.

use crate::Result;
use db::Conn;

#[derive(Debug, Clone)]
pub struct PartnerRow {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub secret_hash: String,
    pub disabled: bool,
}
db::from_row!(PartnerRow {
    id,
    uuid,
    username,
    secret_hash,
    disabled
});

/// A grant joined with the uuids it names.
#[derive(Debug, Clone)]
pub struct GrantRow {
    pub dealer_id: i64,
    pub dealer_uuid: String,
    pub department_uuid: Option<String>,
    pub scope: String,
}
db::from_row!(GrantRow {
    dealer_id,
    dealer_uuid,
    department_uuid,
    scope
});

/// Columns of the row type in `SELECT` order; `partner_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! partner_cols {
    () => {
        concat!("id, uuid, username, secret_hash, disabled")
    };
    ($a:literal) => {
        concat!(
            $a,
            ".id, ",
            $a,
            ".uuid, ",
            $a,
            ".username, ",
            $a,
            ".secret_hash, ",
            $a,
            ".disabled",
        )
    };
}

pub async fn insert(
    c: &mut Conn,
    uuid: &str,
    username: &str,
    secret_hash: &str,
    now: i64,
) -> Result<PartnerRow> {
    let sql = concat!(
        "INSERT INTO partners (uuid, username, secret_hash, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $4) RETURNING ",
        crate::partner_cols!()
    );
    c.query_one(sql, db::args![uuid, username, secret_hash, now])
        .await
}

pub async fn by_username(c: &mut Conn, username: &str) -> Result<Option<PartnerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::partner_cols!(),
        " FROM partners WHERE username = $1"
    );
    c.query_opt(sql, db::args![username]).await
}

pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<PartnerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::partner_cols!(),
        " FROM partners WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn set_disabled(c: &mut Conn, id: i64, disabled: bool, now: i64) -> Result<()> {
    c.execute(
        "UPDATE partners SET disabled = $1, updated_at = $2 WHERE id = $3",
        db::args![disabled, now, id],
    )
    .await?;
    Ok(())
}

pub async fn set_secret(c: &mut Conn, id: i64, secret_hash: &str, now: i64) -> Result<()> {
    c.execute(
        "UPDATE partners SET secret_hash = $1, updated_at = $2 WHERE id = $3",
        db::args![secret_hash, now, id],
    )
    .await?;
    Ok(())
}

/// Adds a grant; granting the same thing twice is a no-op.
pub async fn grant(
    c: &mut Conn,
    partner_id: i64,
    dealer_id: i64,
    department_id: Option<i64>,
    scope: &str,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO scope_grants (partner_id, dealer_id, department_id, scope, created_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    c.execute(
        sql,
        db::args![partner_id, dealer_id, department_id, scope, now],
    )
    .await?;
    Ok(())
}

pub async fn revoke(
    c: &mut Conn,
    partner_id: i64,
    dealer_id: i64,
    department_id: Option<i64>,
    scope: &str,
) -> Result<u64> {
    let sql = "DELETE FROM scope_grants WHERE partner_id = $1 AND dealer_id = $2 \
               AND COALESCE(department_id, 0) = COALESCE($3, 0) AND scope = $4";
    let r = c
        .execute(sql, db::args![partner_id, dealer_id, department_id, scope])
        .await?;
    Ok(r)
}

pub async fn grants(c: &mut Conn, partner_id: i64) -> Result<Vec<GrantRow>> {
    let sql = "SELECT g.dealer_id, d.uuid AS dealer_uuid, dep.uuid AS department_uuid, g.scope \
               FROM scope_grants g JOIN dealers d ON d.id = g.dealer_id \
               LEFT JOIN departments dep ON dep.id = g.department_id \
               WHERE g.partner_id = $1 ORDER BY g.id";
    c.query_all(sql, db::args![partner_id]).await
}

/// A partner with its grants, as authentication needs it.
#[derive(Debug, Clone)]
pub struct PartnerAuth {
    pub partner: PartnerRow,
    pub grants: Vec<GrantRow>,
}

struct AuthRow(PartnerRow, Option<GrantRow>);

impl db::FromRow for AuthRow {
    const WIDTH: usize = PartnerRow::WIDTH + GrantRow::WIDTH;
    fn from_cols(c: &mut db::Cols<'_>) -> db::Result<Self> {
        Ok(AuthRow(c.row()?, c.opt_row()?))
    }
}

/// The partner named `username` and its grants, in one statement.
pub async fn auth_by_username(c: &mut Conn, username: &str) -> Result<Option<PartnerAuth>> {
    let rows: Vec<AuthRow> = c
        .query_all(
            concat!(
                "SELECT ",
                crate::partner_cols!("p"),
                ", g.dealer_id, d.uuid, dep.uuid, g.scope FROM partners p \
                 LEFT JOIN scope_grants g ON g.partner_id = p.id \
                 LEFT JOIN dealers d ON d.id = g.dealer_id \
                 LEFT JOIN departments dep ON dep.id = g.department_id \
                 WHERE p.username = $1 ORDER BY g.id"
            ),
            db::args![username],
        )
        .await?;
    let mut rows = rows.into_iter();
    let Some(AuthRow(partner, first)) = rows.next() else {
        return Ok(None);
    };
    let grants = first.into_iter().chain(rows.filter_map(|r| r.1)).collect();
    Ok(Some(PartnerAuth { partner, grants }))
}
