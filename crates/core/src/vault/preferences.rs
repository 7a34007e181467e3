//! The patient's preferences inside the encrypted vault (table `preferences`, schema 4): the
//! backup folder, their own client ids. One reader and one writer of that table.

use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::error::Result;

pub(crate) fn get(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT value FROM preferences WHERE name = ?1",
            [name],
            |r| r.get::<_, String>(0),
        )
        .optional()?)
}

/// Sets `name` to `value`, or removes it with `None`.
pub(crate) fn set(tx: &Transaction<'_>, name: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => tx.execute(
            "INSERT INTO preferences (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, v],
        )?,
        None => tx.execute("DELETE FROM preferences WHERE name = ?1", [name])?,
    };
    Ok(())
}

/// Every `(name, value)` whose name starts with `prefix`, by name.
pub(crate) fn list(conn: &Connection, prefix: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT name, value FROM preferences WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
