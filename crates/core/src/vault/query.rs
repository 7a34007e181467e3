//! Reading the vault: summary counts and full-text search.

use serde::Serialize;

use crate::error::Result;
use crate::fhir;
use crate::vault::Vault;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TypeCount {
    pub resource_type: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SourceSummary {
    pub kind: String,
    pub name: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: i64,
    pub last_imported: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Summary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: i64,
    /// Earlier versions kept in history.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub earlier_versions: i64,
    pub by_type: Vec<TypeCount>,
    pub earliest: Option<String>,
    pub latest: Option<String>,
    pub sources: Vec<SourceSummary>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub resource_type: String,
    pub id: String,
    pub date: Option<String>,
    pub display: String,
    pub source: String,
}

impl Vault {
    /// Counts of one person's resources (each fact once), their date range and sources; with no
    /// person, of the whole vault (shared resources too).
    pub fn summary(&self, person: Option<i64>) -> Result<Summary> {
        let conn = self.db();
        let by_type = conn
            .prepare(
                "SELECT r.resource_type, count(*) FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE ?1 IS NULL OR (e.person_id = ?1 AND e.duplicate_of IS NULL)
                 GROUP BY r.resource_type ORDER BY r.resource_type",
            )?
            .query_map([person], |r| {
                Ok(TypeCount {
                    resource_type: r.get(0)?,
                    count: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (earliest, latest): (Option<String>, Option<String>) = conn.query_row(
            "SELECT min(substr(date, 1, 10)), max(substr(date, 1, 10)) FROM entries
             WHERE (?1 IS NULL OR person_id = ?1) AND date != '' AND kind != 'patient'",
            [person],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let sources = conn
            .prepare(
                "SELECT s.kind, s.name,
                        (SELECT count(*) FROM resources r JOIN entries e ON e.resource_id = r.id
                          WHERE r.source_id = s.id AND (?1 IS NULL OR e.person_id = ?1)),
                        s.updated_at
                 FROM sources s
                 WHERE ?1 IS NULL OR s.id IN (SELECT source_id FROM person_patients WHERE person_id = ?1)
                 ORDER BY s.kind, s.name",
            )?
            .query_map([person], |r| {
                Ok(SourceSummary {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    resources: r.get(2)?,
                    last_imported: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let earlier_versions = conn.query_row(
            "SELECT count(*) FROM resource_history h JOIN entries e ON e.resource_id = h.resource_id
             WHERE ?1 IS NULL OR e.person_id = ?1",
            [person],
            |r| r.get(0),
        )?;
        Ok(Summary {
            resources: by_type.iter().map(|t| t.count).sum(),
            earlier_versions,
            by_type,
            earliest,
            latest,
            sources,
        })
    }

    /// Full-text search over one person's display text, names and notes. Every word must match
    /// (prefixes allowed); each fact once, newest first (ranking every match by relevance cost
    /// more than the search itself).
    pub fn search(&self, person: i64, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        // The person's shown entries, newest first along their timeline index, each kept when
        // the full-text index matches it: the matches are read once into a set of rows (IN), and
        // the walk stops at the `limit`th hit, so it costs the words' matches plus at most the
        // person's own entries, never a lookup per match of anyone's. Only those are read in full.
        let mut stmt = self.db().prepare_cached(
            "WITH hits AS MATERIALIZED (
                 SELECT e.resource_id, e.date FROM entries e INDEXED BY entries_timeline
                 WHERE e.person_id = ?3 AND e.duplicate_of IS NULL
                   AND e.resource_id IN (SELECT rowid FROM resource_text WHERE resource_text MATCH ?1)
                 ORDER BY e.date DESC, e.resource_id DESC LIMIT ?2)
             SELECT r.resource_type, r.fhir_id, h.date, e.display, coalesce(c.name, s.name)
             FROM hits h JOIN entries e ON e.resource_id = h.resource_id
             JOIN resources r ON r.id = h.resource_id JOIN sources s ON s.id = r.source_id
             LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id
             ORDER BY h.date DESC, h.resource_id DESC",
        )?;
        let hits = stmt
            .query_map(rusqlite::params![query, limit as i64, person], |r| {
                let date: String = r.get(2)?;
                Ok(SearchHit {
                    resource_type: r.get(0)?,
                    id: r.get(1)?,
                    date: (!date.is_empty()).then_some(date),
                    display: r.get(3)?,
                    source: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(hits)
    }
}

/// Quotes each word so user text can never be read as FTS5 syntax; each word matches as a prefix.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Vault {
    pub fn audit_entries(
        &self,
        filter: &crate::audit::Filter,
    ) -> Result<Vec<crate::audit::AuditEntry>> {
        crate::audit::list(self.db(), filter)
    }

    pub fn verify_audit(&self) -> Result<crate::audit::Verified> {
        crate::audit::verify(self.db())
    }

    /// `(resourceType, id, hex SHA-256 of the minified JSON)` of every current resource: two
    /// vaults hold the same record exactly when these sets are equal, whatever whitespace the
    /// JSON arrived with (see [`fhir::minified`]).
    pub fn resource_digests(&self) -> Result<std::collections::BTreeSet<(String, String, String)>> {
        use sha2::Digest;
        let mut stmt = self
            .db()
            .prepare("SELECT resource_type, fhir_id, json FROM resources")?;
        let digests = stmt
            .query_map([], |r| {
                let json: String = r.get(2)?;
                let digest = sha2::Sha256::digest(fhir::minified(&json).as_bytes());
                Ok((r.get(0)?, r.get(1)?, hex::encode(digest)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(digests)
    }

    /// Writes the whole audit log (with details) to `path`.
    pub fn export_audit(&self, path: &std::path::Path) -> Result<usize> {
        crate::audit::export(self.db(), path, &self.now(), false)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fts_query_quotes_user_text() {
        assert_eq!(super::fts_query("  "), None);
        assert_eq!(
            super::fts_query("a\"b OR"),
            Some("\"a\"\"b\"* \"OR\"*".into())
        );
    }
}
