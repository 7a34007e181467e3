-- Schema version 8: each source keeps when it was last imported or synced (set by every store
-- into it, vault/resources.rs `source_id`), so the home and the summary read one row per source
-- rather than every resource's import time (a row read past its JSON, page by page).
ALTER TABLE sources ADD COLUMN updated_at TEXT;
UPDATE sources SET updated_at = (SELECT max(r.imported_at) FROM resources r WHERE r.source_id = sources.id);
