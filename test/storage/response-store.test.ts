import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openResponseStore, type StoredResponse } from "../../src/storage/response-store.js";

const dir = mkdtempSync(join(tmpdir(), "lavash-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(id: string, createdAt: number, previousResponseId: string | null = null): StoredResponse {
  return {
    id,
    createdAt,
    previousResponseId,
    response: { id, object: "response", created_at: createdAt, output: [{ type: "message", id: `msg_${id}` }] },
    inputItems: [{ id: `in_${id}`, type: "message", role: "user", content: [{ type: "input_text", text: id }] }],
  };
}

test("a saved response reads back, survives reopening the file, and deletes once", () => {
  const path = join(dir, "nested", "a.sqlite");
  const now = Math.floor(Date.now() / 1000);
  const store = openResponseStore(path);
  store.save(record("resp_1", now));
  store.save(record("resp_2", now, "resp_1"));
  store.close();

  const reopened = openResponseStore(path);
  assert.deepEqual(reopened.get("resp_2"), record("resp_2", now, "resp_1"));
  assert.equal(reopened.get("resp_missing"), null);
  assert.equal(reopened.delete("resp_1"), true);
  assert.equal(reopened.delete("resp_1"), false);
  assert.equal(reopened.get("resp_1"), null);
  assert.equal(reopened.count(), 1);
  reopened.close();
});

test("the count bound drops the oldest responses first", () => {
  const store = openResponseStore(join(dir, "count.sqlite"), { maxAgeSeconds: 0, maxEntries: 3 });
  for (let i = 0; i < 5; i++) store.save(record(`resp_${i}`, 2000 + i));
  assert.equal(store.count(), 3);
  assert.equal(store.get("resp_1"), null);
  assert.ok(store.get("resp_2"));
  assert.ok(store.get("resp_4"));
  store.close();
});

test("responses past the age bound are gone, whether or not they were pruned yet", () => {
  let clock = 10_000;
  const store = openResponseStore(join(dir, "age.sqlite"), { maxAgeSeconds: 60, maxEntries: 0 }, () => clock);
  store.save(record("resp_old", 9_990));
  clock = 10_100; // resp_old is now 110 s old
  assert.equal(store.get("resp_old"), null);
  store.save(record("resp_new", 10_100));
  assert.equal(store.count(), 1);
  store.close();
});

test("a file that is not a database is an error that names it and says what to do", () => {
  const path = join(dir, "not-a-db.sqlite");
  writeFileSync(path, "this is not sqlite, it is a text file long enough to have a header".repeat(20));
  assert.throws(
    () => openResponseStore(path),
    /cannot open the responses database .*not-a-db\.sqlite.*--responses-db.*--no-store/,
  );
});
