/**
 * Creates an event and lists it back by its type: the smoke test of the TypeScript client
 * (tests/integration/test_sdk_typescript.py runs it against the embedded stack).
 *
 *   TRIGGERS_API_URL=http://127.0.0.1:3000 TRIGGERS_API_KEY=... npm run build && npm run example
 */
import { createTriggersClient, type EventIn, type Problem } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

function explain(what: string, problem: Problem | undefined, status: number): never {
  throw new Error(`${what}: HTTP ${status} ${problem?.type ?? ""} ${problem?.detail ?? ""}`);
}

const client = createTriggersClient({
  baseUrl: required("TRIGGERS_API_URL"),
  apiKey: required("TRIGGERS_API_KEY"),
});
const eventType = process.env.EVENT_TYPE ?? `example.${Date.now()}`;
const event: EventIn = { event_type: eventType, source: "sdk-example", payload: { order: { id: 42 }, note: "café" } };

const created = await client.POST("/v1/events", { body: event });
if (created.data === undefined || !("id" in created.data)) {
  explain("create", created.error, created.response.status);
}
const listed = await client.GET("/v1/events", { params: { query: { event_type: eventType, limit: 10 } } });
if (listed.data === undefined) {
  explain("list", listed.error, listed.response.status);
}
const missing = await client.GET("/v1/events/{event_id}", { params: { path: { event_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" } } });

console.log(
  JSON.stringify({
    created: { status: created.response.status, id: created.data.id },
    listed: listed.data.data.map(({ id, event_type, payload }) => ({ id, event_type, payload })),
    missing: { status: missing.response.status, type: missing.error?.type },
  }),
);
