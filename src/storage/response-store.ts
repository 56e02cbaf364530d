// Stored Responses API responses (`store: true`), so that GET/DELETE /v1/responses/{id}, its
// input_items and `previous_response_id` work, across restarts. One SQLite file (better-sqlite3:
// synchronous, embedded, no server), bounded by age and count like OpenAI's 30-day retention.
// The endpoint owns the wire shapes; this module keeps what it is given as JSON.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";

export interface StoredResponse {
  /** `resp_…` */
  id: string;
  /** Unix seconds, as the response's `created_at`. */
  createdAt: number;
  /** The response this one continued, or null. */
  previousResponseId: string | null;
  /** The response object as GET /v1/responses/{id} returns it. */
  response: Record<string, unknown>;
  /** This request's own input items (each with its id), as input_items lists them. */
  inputItems: Record<string, unknown>[];
}

export interface ResponseStore {
  /** The database file, for the startup log. */
  readonly path: string;
  /** Keeps (or replaces) a response, then drops what the bounds no longer allow. */
  save(record: StoredResponse): void;
  get(id: string): StoredResponse | null;
  /** False when there was no such response. */
  delete(id: string): boolean;
  /** How many responses are kept. */
  count(): number;
  close(): void;
}

export interface ResponseStoreBounds {
  /** Responses older than this many seconds are dropped; 0: no age limit. */
  maxAgeSeconds: number;
  /** At most this many responses are kept (the oldest go first); 0: no count limit. */
  maxEntries: number;
}

/** OpenAI keeps stored responses 30 days. */
export const DEFAULT_RESPONSE_STORE_BOUNDS: ResponseStoreBounds = { maxAgeSeconds: 30 * 86_400, maxEntries: 100_000 };

export const RESPONSE_DB_FILE = "responses.sqlite";

/** Where responses are stored by default: in the cache directory. */
export function defaultResponseDbPath(cacheDir: string): string {
  return join(cacheDir, RESPONSE_DB_FILE);
}

// Loaded only when a store is opened: `--help`, the client and `--no-store` never load the addon.
const require = createRequire(import.meta.url);

/**
 * Opens (creating if needed) the database at `path`. Throws an Error saying what to do when the
 * file cannot be opened or the native module is missing.
 */
export function openResponseStore(
  path: string,
  bounds: ResponseStoreBounds = DEFAULT_RESPONSE_STORE_BOUNDS,
  now: () => number = () => Math.floor(Date.now() / 1000),
): ResponseStore {
  let Database: typeof BetterSqlite3;
  try {
    Database = require("better-sqlite3") as typeof BetterSqlite3;
  } catch (error) {
    throw new Error(
      `stored responses need the better-sqlite3 module, which failed to load (${(error as Error).message}): reinstall lavash (its install builds the module), or serve with --no-store`,
    );
  }
  let db: BetterSqlite3.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // WAL: readers never wait for the writer, and a crash mid-write leaves the file consistent.
    db.pragma("journal_mode = WAL");
    db.exec(`
      CREATE TABLE IF NOT EXISTS responses (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        previous_response_id TEXT,
        response TEXT NOT NULL,
        input_items TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at);
    `);
  } catch (error) {
    throw new Error(
      `cannot open the responses database ${path}: ${(error as Error).message} (pick another file with --responses-db, or serve with --no-store)`,
    );
  }
  const insert = db.prepare(
    "INSERT OR REPLACE INTO responses (id, created_at, previous_response_id, response, input_items) VALUES (?, ?, ?, ?, ?)",
  );
  const select = db.prepare<[string], Row>(
    "SELECT id, created_at, previous_response_id, response, input_items FROM responses WHERE id = ?",
  );
  const remove = db.prepare("DELETE FROM responses WHERE id = ?");
  const countAll = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM responses");
  const dropOlder = db.prepare("DELETE FROM responses WHERE created_at < ?");
  // Ties on created_at (one second) are broken by insertion order.
  const dropBeyond = db.prepare(
    "DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
  );
  const prune = () => {
    if (bounds.maxAgeSeconds > 0) dropOlder.run(now() - bounds.maxAgeSeconds);
    if (bounds.maxEntries > 0) dropBeyond.run(bounds.maxEntries);
  };
  prune();
  const saveAndPrune = db.transaction((r: StoredResponse) => {
    insert.run(r.id, r.createdAt, r.previousResponseId, JSON.stringify(r.response), JSON.stringify(r.inputItems));
    prune();
  });
  return {
    path,
    save: (record) => {
      saveAndPrune(record);
    },
    get: (id) => {
      const row = select.get(id);
      if (!row) return null;
      // Expired but not yet pruned (no save since): gone all the same.
      if (bounds.maxAgeSeconds > 0 && row.created_at < now() - bounds.maxAgeSeconds) return null;
      return {
        id: row.id,
        createdAt: row.created_at,
        previousResponseId: row.previous_response_id,
        response: JSON.parse(row.response) as Record<string, unknown>,
        inputItems: JSON.parse(row.input_items) as Record<string, unknown>[],
      };
    },
    delete: (id) => remove.run(id).changes > 0,
    count: () => countAll.get()!.n,
    close: () => {
      if (db.open) db.close();
    },
  };
}

interface Row {
  id: string;
  created_at: number;
  previous_response_id: string | null;
  response: string;
  input_items: string;
}
