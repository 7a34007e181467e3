// A small in-memory storage adapter for oidc-provider. Unlike the library's built-in
// development adapter it lets the control endpoint enumerate and drop everything
// (POST /_control/revoke-all).

const entries = new Map(); // `${model}:${id}` -> { model, payload, expiresAt }
const byGrant = new Map(); // grantId -> Set of keys
const byUid = new Map(); // session uid -> key
const byUserCode = new Map(); // user code -> key

function now() {
  return Date.now();
}

function live(key) {
  const entry = entries.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
    entries.delete(key);
    return undefined;
  }
  return entry;
}

export class StoreAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    entries.set(key, {
      model: this.model,
      payload: structuredClone(payload),
      expiresAt: expiresIn ? now() + expiresIn * 1000 : undefined,
    });
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
    if (payload.uid && this.model === 'Session') byUid.set(payload.uid, key);
    if (payload.userCode) byUserCode.set(payload.userCode, key);
  }

  async find(id) {
    const entry = live(this.key(id));
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async findByUid(uid) {
    const key = byUid.get(uid);
    const entry = key && live(key);
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async findByUserCode(userCode) {
    const key = byUserCode.get(userCode);
    const entry = key && live(key);
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) {
    entries.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
    byGrant.delete(grantId);
  }
}

/**
 * Drops stored authorization state. By default everything that could let a client keep
 * access: grants, refresh tokens, access tokens, authorization codes, sessions and
 * interactions. With keepAccessTokens, grants and access tokens survive (access tokens
 * keep working until they expire) but every refresh token is gone.
 * Returns the number of entries removed per model.
 */
export function revokeAll({ keepAccessTokens = false } = {}) {
  const keep = new Set(['Client', 'ReplayDetection']);
  if (keepAccessTokens) {
    keep.add('AccessToken');
    keep.add('Grant');
  }
  const removed = {};
  for (const [key, entry] of entries) {
    if (keep.has(entry.model)) continue;
    entries.delete(key);
    removed[entry.model] = (removed[entry.model] ?? 0) + 1;
  }
  if (!keepAccessTokens) byGrant.clear();
  byUid.clear();
  byUserCode.clear();
  return removed;
}
