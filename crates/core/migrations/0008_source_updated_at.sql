-- Schema version 8: each source keeps when it was last imported or synced (set by every store
-- into it, vault/resources.rs `source_id`), so the home and the summary read one row per source
-- rather than every resource's import time (a row read past its JSON, page by page).
ALTER TABLE sources ADD COLUMN updated_at TEXT;
UPDATE sources SET updated_at = (SELECT max(r.imported_at) FROM resources r WHERE r.source_id = sources.id);

-- One person's search now walks their timeline index (entries_timeline) and keeps the entries the
-- full-text index matches (vault/query.rs): schema 7's index of (person, resource, date), looked
-- up once per match of anyone's, was slower and is no longer read.
DROP INDEX entries_search;
