-- Schema version 7: one person's search restricts the full-text index's matches by this index
-- (vault/query.rs): each match is looked up among that person's shown entries only, a few pages
-- however large the vault, and the entry's date is read from the index for the newest-first
-- order. The words naming each source's Patient that older vaults carry in their search text are
-- no longer read (nor written).
CREATE INDEX entries_search ON entries (person_id, resource_id, date) WHERE duplicate_of IS NULL;
