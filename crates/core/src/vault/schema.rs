//! Versioned schema migrations (SQL files in `crates/core/migrations/`, tracked by `PRAGMA user_version`).

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::Result;

/// Every migration, oldest first. Append only: never edit a released one.
pub const MIGRATION_SQL: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_connections.sql"),
];

pub fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATION_SQL.iter().map(|sql| M::up(sql)).collect())
}

/// The schema version this build writes.
pub fn latest_version() -> usize {
    MIGRATION_SQL.len()
}

pub fn migrate_to_latest(conn: &mut Connection) -> Result<()> {
    migrations().to_latest(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    /// Every earlier schema version, with data in it, migrates to the latest and keeps its rows.
    #[test]
    fn every_earlier_version_migrates_to_latest() {
        for start in 0..latest_version() {
            let mut conn = Connection::open_in_memory().unwrap();
            migrations().to_version(&mut conn, start).unwrap();
            if start >= 1 {
                conn.execute(
                    "INSERT INTO sources (kind, name, added_at) VALUES ('file', 'x.json', '2026-01-01T00:00:00Z')",
                    [],
                )
                .unwrap();
            }
            migrate_to_latest(&mut conn).unwrap();
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version as usize, latest_version(), "from version {start}");
            let sources: i64 = conn
                .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))
                .unwrap();
            assert_eq!(
                sources,
                i64::from(start >= 1),
                "rows survive migration from version {start}"
            );
        }
    }
}
