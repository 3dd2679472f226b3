//! Decoding rows the same way on both backends: a row type reads its columns in `SELECT`
//! order through [`Cols`].

use crate::{DbError, Result};
use domain::Money;
use tokio_postgres::types::Type;

/// One row of either backend.
pub trait RowRef {
    fn is_null(&self, i: usize) -> Result<bool>;
    fn int(&self, i: usize) -> Result<Option<i64>>;
    fn text(&self, i: usize) -> Result<Option<String>>;
    fn float(&self, i: usize) -> Result<Option<f64>>;
}

fn decode_err(column: usize, message: impl Into<String>) -> DbError {
    DbError::Decode {
        column,
        message: message.into(),
    }
}

impl RowRef for rusqlite::Row<'_> {
    fn is_null(&self, i: usize) -> Result<bool> {
        Ok(matches!(self.get_ref(i)?, rusqlite::types::ValueRef::Null))
    }
    fn int(&self, i: usize) -> Result<Option<i64>> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            ValueRef::Real(v) if v.fract() == 0.0 => Ok(Some(v as i64)),
            other => Err(decode_err(
                i,
                format!("expected an integer, found {:?}", other.data_type()),
            )),
        }
    }
    fn text(&self, i: usize) -> Result<Option<String>> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(b) => String::from_utf8(b.to_vec())
                .map(Some)
                .map_err(|_| decode_err(i, "text is not UTF-8")),
            ValueRef::Integer(v) => Ok(Some(v.to_string())),
            other => Err(decode_err(
                i,
                format!("expected text, found {:?}", other.data_type()),
            )),
        }
    }
    fn float(&self, i: usize) -> Result<Option<f64>> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Real(v) => Ok(Some(v)),
            ValueRef::Integer(v) => Ok(Some(v as f64)),
            other => Err(decode_err(
                i,
                format!("expected a number, found {:?}", other.data_type()),
            )),
        }
    }
}

impl RowRef for tokio_postgres::Row {
    fn is_null(&self, i: usize) -> Result<bool> {
        struct Nullness(bool);
        impl<'a> tokio_postgres::types::FromSql<'a> for Nullness {
            fn from_sql(
                _: &Type,
                _: &'a [u8],
            ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok(Nullness(false))
            }
            fn from_sql_null(
                _: &Type,
            ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok(Nullness(true))
            }
            fn accepts(_: &Type) -> bool {
                true
            }
        }
        Ok(self.try_get::<_, Nullness>(i)?.0)
    }
    fn int(&self, i: usize) -> Result<Option<i64>> {
        let ty = self
            .columns()
            .get(i)
            .ok_or_else(|| decode_err(i, "no such column"))?
            .type_()
            .clone();
        Ok(match ty {
            Type::INT8 => self.try_get::<_, Option<i64>>(i)?,
            Type::INT4 => self.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Type::INT2 => self.try_get::<_, Option<i16>>(i)?.map(i64::from),
            Type::BOOL => self.try_get::<_, Option<bool>>(i)?.map(i64::from),
            other => {
                return Err(decode_err(
                    i,
                    format!("expected an integer, found {other} (cast it to BIGINT)"),
                ))
            }
        })
    }
    fn text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get::<_, Option<String>>(i)?)
    }
    fn float(&self, i: usize) -> Result<Option<f64>> {
        let ty = self
            .columns()
            .get(i)
            .ok_or_else(|| decode_err(i, "no such column"))?
            .type_()
            .clone();
        Ok(match ty {
            Type::FLOAT8 => self.try_get::<_, Option<f64>>(i)?,
            Type::FLOAT4 => self.try_get::<_, Option<f32>>(i)?.map(f64::from),
            _ => self.int(i)?.map(|v| v as f64),
        })
    }
}

/// A column value.
pub trait Decode: Sized {
    fn decode(row: &dyn RowRef, i: usize) -> Result<Self>;
}

fn not_null<T>(v: Option<T>, i: usize) -> Result<T> {
    v.ok_or_else(|| decode_err(i, "unexpected NULL"))
}

impl Decode for i64 {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        not_null(r.int(i)?, i)
    }
}
impl Decode for Option<i64> {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        r.int(i)
    }
}
impl Decode for bool {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        Ok(not_null(r.int(i)?, i)? != 0)
    }
}
impl Decode for String {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        not_null(r.text(i)?, i)
    }
}
impl Decode for Option<String> {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        r.text(i)
    }
}
impl Decode for f64 {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        not_null(r.float(i)?, i)
    }
}
impl Decode for Money {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        let cents = not_null(r.int(i)?, i)?;
        Money::from_stored(cents).map_err(|e| decode_err(i, format!("amount {cents}: {e}")))
    }
}
impl Decode for Option<Money> {
    fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
        match r.int(i)? {
            None => Ok(None),
            Some(_) => Money::decode(r, i).map(Some),
        }
    }
}

/// The columns of one row, read left to right.
pub struct Cols<'r> {
    row: &'r dyn RowRef,
    next: usize,
}

impl<'r> Cols<'r> {
    pub fn new(row: &'r dyn RowRef) -> Cols<'r> {
        Cols { row, next: 0 }
    }

    /// The next column.
    pub fn get<T: Decode>(&mut self) -> Result<T> {
        let i = self.next;
        self.next += 1;
        T::decode(self.row, i)
    }

    /// The next column, a text parsed with `FromStr` (statuses and other enums).
    pub fn parse<T: std::str::FromStr>(&mut self) -> Result<T> {
        let i = self.next;
        let s: String = self.get()?;
        s.parse()
            .map_err(|_| decode_err(i, format!("unknown value {s:?}")))
    }

    /// Like [`Cols::parse`] for a nullable column.
    pub fn parse_opt<T: std::str::FromStr>(&mut self) -> Result<Option<T>> {
        let i = self.next;
        match self.get::<Option<String>>()? {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| decode_err(i, format!("unknown value {s:?}"))),
        }
    }

    /// The next columns as a row type of their own (for joins: `SELECT a.*, b.*`).
    pub fn row<T: FromRow>(&mut self) -> Result<T> {
        T::from_cols(self)
    }

    /// The next columns as a row type from an outer join: `None` when its first column (the
    /// id) is NULL, i.e. nothing was joined.
    pub fn opt_row<T: FromRow>(&mut self) -> Result<Option<T>> {
        if self.row.is_null(self.next)? {
            self.next += T::WIDTH;
            return Ok(None);
        }
        T::from_cols(self).map(Some)
    }

    /// Skips `n` columns.
    pub fn skip(&mut self, n: usize) {
        self.next += n;
    }
}

/// A row type.
pub trait FromRow: Sized {
    /// How many columns it reads.
    const WIDTH: usize;
    fn from_cols(c: &mut Cols<'_>) -> Result<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident),+) => {
        impl<$($t: Decode),+> FromRow for ($($t,)+) {
            const WIDTH: usize = [$(stringify!($t)),+].len();
            fn from_cols(c: &mut Cols<'_>) -> Result<Self> {
                Ok(($(c.get::<$t>()?,)+))
            }
        }
    };
}
tuple_from_row!(A);
tuple_from_row!(A, B);
tuple_from_row!(A, B, C);
tuple_from_row!(A, B, C, D);
tuple_from_row!(A, B, C, D, E);
tuple_from_row!(A, B, C, D, E, F);
tuple_from_row!(A, B, C, D, E, F, G);
tuple_from_row!(A, B, C, D, E, F, G, H);

/// Statuses and other stored enums decode from their spelling.
macro_rules! decode_parsed {
    ($($t:ty),+) => {$(
        impl Decode for $t {
            fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
                let s = not_null(r.text(i)?, i)?;
                s.parse().map_err(|_| decode_err(i, format!("unknown value {s:?}")))
            }
        }
        impl Decode for Option<$t> {
            fn decode(r: &dyn RowRef, i: usize) -> Result<Self> {
                match r.text(i)? {
                    None => Ok(None),
                    Some(s) => s.parse().map(Some).map_err(|_| decode_err(i, format!("unknown value {s:?}"))),
                }
            }
        }
    )+};
}
use domain::fees::{CardBrand, TenderType};
use domain::status::*;
decode_parsed!(
    AttemptStatus,
    TransactionType,
    TransactionStatus,
    PaymentRequestStatus,
    OrderStatus,
    SessionStatus,
    CaptureMethod,
    CardBrand,
    TenderType
);

/// `from_row!(Type { field, field, … })`: reads the fields in order, one column each.
#[macro_export]
macro_rules! from_row {
    ($t:ident { $($f:ident),+ $(,)? }) => {
        impl $crate::FromRow for $t {
            const WIDTH: usize = [$(stringify!($f)),+].len();
            fn from_cols(c: &mut $crate::Cols<'_>) -> $crate::Result<Self> {
                Ok($t { $($f: c.get()?),+ })
            }
        }
    };
}
