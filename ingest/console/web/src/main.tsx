// The Triggers console: events, subscriptions, deliveries and charts, through the public API.
import { render } from "preact";
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  call,
  callWithEtag,
  encode,
  forgetKey,
  storedKey,
  storeKey,
  type Delivery,
  type EventOut,
  type Page,
  type RecoverResult,
  type ReplayResult,
  type Stats,
  type Subscription,
  type SubscriptionPatch,
  type SubscriptionWithSecret,
  type TenantStats,
} from "./api";
import { StatsCharts } from "./chart";
import "./style.css";

const LIVE_EVERY_MS = 2000;

// --- small helpers -------------------------------------------------------------------------------

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/events");
  useEffect(() => {
    const changed = () => setHash(location.hash || "#/events");
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  reload: () => Promise<void>;
}

function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const current = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++current.current;
    try {
      const value = await load();
      if (mine === current.current) {
        setData(value);
        setError(null);
      }
    } catch (caught) {
      if (mine === current.current) setError(caught instanceof ApiError ? caught : new ApiError(0, "Error", String(caught)));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    setData(null);
    setError(null);
    void reload();
  }, [reload]);
  return { data, error, reload };
}

function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function percent(rate: number | null): string {
  return rate === null ? "n/a" : `${(rate * 100).toFixed(1)} %`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState("");
  return (
    <>
      <button type="button" onClick={async () => setSaid((await copyText(text)) ? "Copied" : "Copy failed: select the text and copy it")}>
        {label}
      </button>
      <span role="status" class="note">
        {said}
      </span>
    </>
  );
}

function Problem({ error, what }: { error: ApiError; what?: string }) {
  if (error.status === 404 && what) {
    return (
      <p role="alert" class="problem">
        {what} not found.
      </p>
    );
  }
  return (
    <p role="alert" class="problem">
      {error.title}: {error.detail}
    </p>
  );
}

function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${value}`}>{value}</span>;
}

function Table({ caption, head, children }: { caption: string; head: string[]; children: ComponentChildren }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((name) => (
              <th scope="col" key={name}>
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

// --- the key -------------------------------------------------------------------------------------

function KeyForm({ onKey }: { onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <main id="main">
      <h1>Triggers console</h1>
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" spellcheck={false} value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
        <p class="note">
          Kept in this tab only (session storage) and sent as the <code>Authorization</code> header; closing the tab forgets it.
        </p>
        <button type="submit">Open the console</button>
      </form>
    </main>
  );
}

// --- events --------------------------------------------------------------------------------------

interface Filters {
  event_type: string;
  source: string;
  since: string;
  until: string;
  q: string;
}

const NO_FILTERS: Filters = { event_type: "", source: "", since: "", until: "", q: "" };

function isoFromLocal(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

function eventQuery(filters: Filters, cursor?: string | null) {
  return {
    event_type: filters.event_type,
    source: filters.source,
    since: isoFromLocal(filters.since),
    until: isoFromLocal(filters.until),
    q: filters.q,
    limit: 50,
    cursor,
  };
}

function EventsPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [events, setEvents] = useState<EventOut[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [live, setLive] = useState(false);
  const [loaded, setLoaded] = useState(false);

  // The filters in force: an answer to a request made under other filters is dropped.
  const current = useRef(filters);
  current.current = filters;

  const first = useCallback(async (merge: boolean) => {
    try {
      const page = await call<Page<EventOut>>("GET", "/v1/events", { query: eventQuery(filters) });
      if (current.current !== filters) return;
      setError(null);
      setLoaded(true);
      if (merge) {
        setEvents((shown) => {
          const fresh = new Map(page.data.map((event) => [event.id, event]));
          const kept = shown.filter((event) => !fresh.has(event.id));
          return [...page.data, ...kept].sort((a, b) => (a.id < b.id ? 1 : -1));
        });
      } else {
        setEvents(page.data);
        setCursor(page.next_cursor);
      }
    } catch (caught) {
      setError(caught as ApiError);
    }
  }, [filters]);

  useEffect(() => {
    void first(false);
  }, [first]);

  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => void first(true), LIVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [live, first]);

  const more = async () => {
    try {
      const page = await call<Page<EventOut>>("GET", "/v1/events", { query: eventQuery(filters, cursor) });
      if (current.current !== filters) return;
      setEvents((shown) => [...shown, ...page.data]);
      setCursor(page.next_cursor);
    } catch (caught) {
      setError(caught as ApiError);
    }
  };

  const field = (name: keyof Filters, label: string, type: "text" | "search" | "datetime-local" = "text", placeholder = "") => (
    <div class="field">
      <label for={`filter-${name}`}>{label}</label>
      <input
        id={`filter-${name}`}
        type={type as "text"}
        value={draft[name]}
        placeholder={placeholder}
        onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
      />
    </div>
  );

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <form
        class="filters card"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ ...draft });
        }}
      >
        {field("event_type", "Type", "text", "order.created")}
        {field("source", "Source")}
        {field("since", "Received since", "datetime-local")}
        {field("until", "Received until", "datetime-local")}
        {field("q", "Search", "search", 'payload.customer.id:42 or "blue widget"')}
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Clear
          </button>
          <label class="inline">
            <input type="checkbox" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} /> Live (follow new events)
          </label>
        </div>
      </form>
      {error && <Problem error={error} />}
      {loaded && events.length === 0 && !error && <p>No events match.</p>}
      {events.length > 0 && (
        <Table caption={live ? "Events, newest first (live)" : "Events, newest first"} head={["Event", "Type", "Source", "Status", "Received"]}>
          {events.map((event) => (
            <tr key={event.id} data-event-id={event.id}>
              <td>
                <a href={`#/events/${event.id}`}>
                  <code>{event.id}</code>
                </a>
              </td>
              <td>{event.event_type}</td>
              <td>{event.source ?? "—"}</td>
              <td>
                <Badge value={event.status} />
              </td>
              <td>{when(event.received_at)}</td>
            </tr>
          ))}
        </Table>
      )}
      {cursor && !live && (
        <button type="button" onClick={more}>
          Load older events
        </button>
      )}
    </section>
  );
}

function Attempts({ delivery }: { delivery: Delivery }) {
  return (
    <Table caption={`Attempts to ${delivery.target_url}`} head={["#", "Time", "Status", "Latency", "Error"]}>
      {delivery.attempts.map((attempt, index) => (
        <tr key={index} class={attempt.status_code !== null && attempt.status_code < 300 ? "ok" : "failed"}>
          <td>{index + 1}</td>
          <td>{when(attempt.at)}</td>
          <td>{attempt.status_code ?? "no response"}</td>
          <td>{attempt.latency_ms} ms</td>
          <td>{attempt.error ?? "—"}</td>
        </tr>
      ))}
    </Table>
  );
}

function EventPage({ id }: { id: string }) {
  const event = useLoad(() => call<EventOut>("GET", `/v1/events/${encode(id)}`), [id]);
  const deliveries = useLoad(() => call<Page<Delivery>>("GET", `/v1/events/${encode(id)}/deliveries`), [id]);
  const settled =
    event.data !== null &&
    event.data.status !== "pending" &&
    (deliveries.data?.data ?? []).every((delivery) => ["delivered", "failed", "gone"].includes(delivery.state));
  useEffect(() => {
    if (settled || event.error) return;
    const timer = setInterval(() => {
      void event.reload();
      void deliveries.reload();
    }, LIVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [settled, event.error, event.reload, deliveries.reload]);

  if (event.error) {
    return (
      <section>
        <h1>Event</h1>
        <Problem error={event.error} what="Event" />
        <a href="#/events">Back to events</a>
      </section>
    );
  }
  if (!event.data) return <p>Loading…</p>;
  const payload = JSON.stringify(event.data.payload, null, 2);
  return (
    <section aria-labelledby="event-title">
      <h1 id="event-title">
        Event <code>{event.data.id}</code>
      </h1>
      <dl class="facts card">
        <dt>Type</dt>
        <dd>{event.data.event_type}</dd>
        <dt>Source</dt>
        <dd>{event.data.source ?? "—"}</dd>
        <dt>Status</dt>
        <dd>
          <Badge value={event.data.status} />
        </dd>
        <dt>Occurred</dt>
        <dd>{when(event.data.occurred_at)}</dd>
        <dt>Received</dt>
        <dd>{when(event.data.received_at)}</dd>
      </dl>
      <h2>Payload</h2>
      <pre class="payload" tabIndex={0} aria-label="Payload">
        {payload}
      </pre>
      <CopyButton text={payload} label="Copy payload" />
      <h2>Deliveries</h2>
      {deliveries.error && <Problem error={deliveries.error} />}
      {deliveries.data && deliveries.data.data.length === 0 && <p>No deliveries (no subscription takes this event type, or not yet).</p>}
      {deliveries.data?.data.map((delivery) => (
        <article class="card delivery" key={delivery.subscription_id} data-subscription-id={delivery.subscription_id}>
          <h3>
            <a href={`#/subscriptions/${delivery.subscription_id}`}>
              <code>{delivery.subscription_id}</code>
            </a>{" "}
            <Badge value={delivery.state} />
          </h3>
          <p class="note">
            {delivery.attempt_count} attempt(s){delivery.next_attempt_at ? `, next at ${when(delivery.next_attempt_at)}` : ""}
          </p>
          <Attempts delivery={delivery} />
        </article>
      ))}
      {!settled && <p class="note">Refreshing every {LIVE_EVERY_MS / 1000} s until every delivery is finished.</p>}
    </section>
  );
}

// --- subscriptions -------------------------------------------------------------------------------

function SecretShownOnce({ issued, onDone }: { issued: SubscriptionWithSecret; onDone: () => void }) {
  return (
    <div class="card secret" role="alert" aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret of {issued.id}</h2>
      <p>
        <strong>Shown once:</strong> copy it now and store it where the receiver verifies signatures. It cannot be shown again (rotate
        it to get a new one).
      </p>
      <p>
        <code class="secret-value" data-testid="secret">
          {issued.secret}
        </code>
      </p>
      <CopyButton text={issued.secret} label="Copy secret" />{" "}
      <button type="button" class="secondary" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}

function CreateSubscription({ onCreated }: { onCreated: (issued: SubscriptionWithSecret) => void }) {
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState("*");
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <form
      class="card"
      aria-labelledby="create-title"
      onSubmit={async (event) => {
        event.preventDefault();
        try {
          const eventTypes = splitTypes(types);
          onCreated(await call<SubscriptionWithSecret>("POST", "/v1/subscriptions", { body: { target_url: url, event_types: eventTypes } }));
          setUrl("");
          setError(null);
        } catch (caught) {
          setError(caught as ApiError);
        }
      }}
    >
      <h2 id="create-title">New subscription</h2>
      <div class="field">
        <label for="target-url">Target URL</label>
        <input id="target-url" type="url" required value={url} placeholder="https://hooks.example.com/triggers" onInput={(e) => setUrl(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="event-types">Event types (comma separated; * for all)</label>
        <input id="event-types" required value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
      </div>
      {error && <Problem error={error} />}
      <button type="submit">Create subscription</button>
    </form>
  );
}

function splitTypes(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((type) => type.trim())
    .filter(Boolean);
}

type TextField = "target_url" | "event_types" | "description" | "rate_limit" | "ordering";
type EditField = TextField | "headers" | "metadata" | "filter";
const EDIT_FIELDS: EditField[] = ["target_url", "event_types", "description", "rate_limit", "ordering", "headers", "metadata", "filter"];
// Fields whose errors name a path inside them (`headers.X-Token`, `filter.payload.amount`): shown with it.
const NESTED_FIELDS: EditField[] = ["headers", "metadata", "filter"];

// The 422's field errors by form field (`event_types.0` is the event types field); the rest apart.
function errorsByField(error: ApiError | null): { fields: Partial<Record<EditField, string>>; other: string[] } {
  const fields: Partial<Record<EditField, string>> = {};
  const other: string[] = [];
  for (const entry of error?.status === 422 ? error.errors : []) {
    const name = entry.field.split(".")[0] as EditField;
    const message = NESTED_FIELDS.includes(name) ? `${entry.field}: ${entry.message}` : entry.message;
    if (EDIT_FIELDS.includes(name)) fields[name] = fields[name] ? `${fields[name]}; ${message}` : message;
    else other.push(`${entry.field}: ${entry.message}`);
  }
  return { fields, other };
}

// One stored header or metadata name in the form: its new value ("" keeps a header's value) and
// whether it is to be removed (sent as null).
interface NamedEdit {
  value: string;
  remove: boolean;
}
interface NewPair {
  name: string;
  value: string;
}

// A refusal found before anything is sent, shown like the API's 422 by its field.
class FormProblem extends Error {
  constructor(
    readonly field: EditField,
    message: string,
  ) {
    super(message);
  }
}

// The merge patch of a set of names (headers or metadata): a removed name is null, a changed value
// is sent, an unchanged one is not. Header values are write-only: an empty input keeps the value.
function namedChanges(
  field: "headers" | "metadata",
  current: Record<string, string>,
  edits: Record<string, NamedEdit>,
  added: NewPair,
): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  for (const [name, edit] of Object.entries(edits)) {
    if (edit.remove) patch[name] = null;
    else if (field === "headers" ? edit.value !== "" : edit.value !== current[name]) patch[name] = edit.value;
  }
  const name = added.name.trim();
  if (name) patch[name] = added.value;
  else if (added.value !== "") throw new FormProblem(field, `${field}: give the new ${field === "headers" ? "header" : "key"} a name`);
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function filterText(filter: Record<string, unknown> | null): string {
  return filter === null ? "" : JSON.stringify(filter, null, 2);
}

// The filter as typed: unchanged text sends nothing, empty removes it (null), else a JSON object.
function filterChange(item: Subscription, text: string): { filter?: Record<string, unknown> | null } {
  if (text === filterText(item.filter)) return {};
  if (text.trim() === "") return item.filter === null ? {} : { filter: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (caught) {
    throw new FormProblem("filter", `filter: not valid JSON (${(caught as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new FormProblem("filter", "filter: must be a JSON object (an event pattern)");
  }
  const pattern = parsed as Record<string, unknown>;
  return JSON.stringify(pattern) === JSON.stringify(item.filter) ? {} : { filter: pattern };
}

interface Draft {
  text: Record<TextField, string>;
  headers: Record<string, NamedEdit>;
  newHeader: NewPair;
  metadata: Record<string, NamedEdit>;
  newMetadata: NewPair;
  filter: string;
}

// Only what changed is sent (a JSON merge patch); an emptied description or rate limit is removed (null).
function changes(item: Subscription, draft: Draft): SubscriptionPatch {
  const text = draft.text;
  const patch: SubscriptionPatch = {};
  if (text.target_url.trim() !== item.target_url) patch.target_url = text.target_url.trim();
  const types = splitTypes(text.event_types);
  if (types.join(",") !== item.event_types.join(",")) patch.event_types = types;
  const description = text.description.trim() || null;
  if (description !== item.description) patch.description = description;
  const rateLimit = text.rate_limit.trim() === "" ? null : Number(text.rate_limit);
  if (rateLimit !== item.rate_limit) patch.rate_limit = rateLimit;
  if (text.ordering !== item.ordering) patch.ordering = text.ordering as "none" | "strict";
  const headers = namedChanges("headers", item.headers, draft.headers, draft.newHeader);
  if (headers) patch.headers = headers;
  const metadata = namedChanges("metadata", item.metadata, draft.metadata, draft.newMetadata);
  if (metadata) patch.metadata = metadata;
  return { ...patch, ...filterChange(item, draft.filter) };
}

function initialDraft(item: Subscription): Draft {
  const named = (values: Record<string, string>, filled: boolean) =>
    Object.fromEntries(Object.keys(values).map((name) => [name, { value: filled ? values[name] : "", remove: false }]));
  return {
    text: {
      target_url: item.target_url,
      event_types: item.event_types.join(", "),
      description: item.description ?? "",
      rate_limit: item.rate_limit === null ? "" : String(item.rate_limit),
      ordering: item.ordering,
    },
    // Header values are write-only: the masked value is shown beside an empty input, never in it.
    headers: named(item.headers, false),
    newHeader: { name: "", value: "" },
    metadata: named(item.metadata, true),
    newMetadata: { name: "", value: "" },
    filter: filterText(item.filter),
  };
}

// The stored names of headers or metadata, each with a value input and a Remove box, then a new pair.
function NamedValues({
  kind,
  current,
  edits,
  added,
  error,
  onEdit,
  onAdd,
}: {
  kind: "headers" | "metadata";
  current: Record<string, string>;
  edits: Record<string, NamedEdit>;
  added: NewPair;
  error: string | undefined;
  onEdit: (name: string, edit: NamedEdit) => void;
  onAdd: (pair: NewPair) => void;
}) {
  const isHeaders = kind === "headers";
  const noun = isHeaders ? "header" : "key";
  const errorId = `edit-${kind}-error`;
  const names = Object.keys(current).sort();
  return (
    <fieldset class="pairs" aria-describedby={error ? errorId : undefined} data-testid={`edit-${kind}`}>
      <legend>{isHeaders ? "Custom headers (values are write-only: shown masked)" : "Metadata"}</legend>
      {names.length === 0 && <p class="note">None yet.</p>}
      {names.map((name, index) => {
        const edit = edits[name] ?? { value: "", remove: false };
        const id = `edit-${kind}-${index}`;
        return (
          <div class="pair" key={name} data-name={name}>
            <span class="pair-name">
              <code>{name}</code>
              {isHeaders && <span class="note"> {current[name]}</span>}
            </span>
            <div class="field">
              <label for={id}>{isHeaders ? `New value for ${name} (empty keeps it)` : `Value of ${name}`}</label>
              <input
                id={id}
                type="text"
                autocomplete="off"
                spellcheck={false}
                value={edit.value}
                disabled={edit.remove}
                onInput={(e) => onEdit(name, { ...edit, value: e.currentTarget.value })}
              />
            </div>
            <label class="inline">
              <input type="checkbox" checked={edit.remove} onChange={(e) => onEdit(name, { ...edit, remove: e.currentTarget.checked })} />
              Remove {name}
            </label>
          </div>
        );
      })}
      <div class="pair">
        <div class="field">
          <label for={`edit-${kind}-new-name`}>{isHeaders ? "New header name" : "New metadata key"}</label>
          <input
            id={`edit-${kind}-new-name`}
            type="text"
            autocomplete="off"
            spellcheck={false}
            value={added.name}
            onInput={(e) => onAdd({ ...added, name: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for={`edit-${kind}-new-value`}>{isHeaders ? "New header value" : "New metadata value"}</label>
          <input
            id={`edit-${kind}-new-value`}
            type="text"
            autocomplete="off"
            spellcheck={false}
            value={added.value}
            onInput={(e) => onAdd({ ...added, value: e.currentTarget.value })}
          />
        </div>
      </div>
      <p class="note">
        A new {noun} with the name of a stored one replaces its value; names are {isHeaders ? "case-insensitive" : "case-sensitive"}.
      </p>
      {error && (
        <span id={errorId} class="problem field-error">
          {error}
        </span>
      )}
    </fieldset>
  );
}

function EditSubscription({
  item,
  etag,
  path,
  onSaved,
  onReload,
}: {
  item: Subscription;
  etag: string | null;
  path: string;
  onSaved: () => Promise<void>;
  onReload: () => Promise<void>;
}) {
  const [draft, setDraft] = useState<Draft>(() => initialDraft(item));
  const [error, setError] = useState<ApiError | null>(null);
  const [said, setSaid] = useState("");
  const { fields, other } = errorsByField(error);
  const setText = (name: TextField, value: string) => setDraft({ ...draft, text: { ...draft.text, [name]: value } });

  const field = (name: EditField, label: string, input: (id: string, described: string | undefined) => ComponentChildren) => {
    const id = `edit-${name.replace("_", "-")}`;
    const message = fields[name];
    return (
      <div class="field">
        <label for={id}>{label}</label>
        {input(id, message ? `${id}-error` : undefined)}
        {message && (
          <span id={`${id}-error`} class="problem field-error">
            {message}
          </span>
        )}
      </div>
    );
  };
  const text = (name: TextField, type: "url" | "text" | "number" = "text", extra: Record<string, unknown> = {}) =>
    (id: string, described: string | undefined) => (
      <input
        id={id}
        type={type as "text"}
        value={draft.text[name]}
        aria-invalid={described ? "true" : undefined}
        aria-describedby={described}
        onInput={(e) => setText(name, e.currentTarget.value)}
        {...extra}
      />
    );

  return (
    <form
      class="card edit"
      aria-labelledby="edit-title"
      onSubmit={async (event) => {
        event.preventDefault();
        setError(null);
        let patch: SubscriptionPatch;
        try {
          patch = changes(item, draft);
        } catch (caught) {
          if (!(caught instanceof FormProblem)) throw caught;
          setSaid("");
          setError(new ApiError(422, "Not saved", caught.message, [{ field: caught.field, message: caught.message.replace(/^\w+: /, "") }]));
          return;
        }
        if (Object.keys(patch).length === 0) {
          setSaid("Nothing changed.");
          return;
        }
        try {
          await callWithEtag<Subscription>("PATCH", path, { body: patch, headers: etag ? { "If-Match": etag } : {} });
          setSaid("");
          await onSaved();
        } catch (caught) {
          setSaid("");
          setError(caught as ApiError);
        }
      }}
    >
      <h2 id="edit-title">Edit</h2>
      {field("target_url", "Target URL", text("target_url", "url", { required: true }))}
      {field("event_types", "Event types (comma separated; * for all)", text("event_types", "text", { required: true }))}
      {field("description", "Description (optional)", text("description", "text", { maxLength: 1024 }))}
      {field("rate_limit", "Rate limit (deliveries per second, 1 to 1000; empty for none)", text("rate_limit", "number", { min: 1, max: 1000, step: 1 }))}
      {field("ordering", "Ordering", (id, described) => (
        <select
          id={id}
          value={draft.text.ordering}
          aria-invalid={described ? "true" : undefined}
          aria-describedby={described}
          onChange={(e) => setText("ordering", e.currentTarget.value)}
        >
          <option value="none">none: concurrent deliveries</option>
          <option value="strict">strict: one at a time, in order</option>
        </select>
      ))}
      <NamedValues
        kind="headers"
        current={item.headers}
        edits={draft.headers}
        added={draft.newHeader}
        error={fields.headers}
        onEdit={(name, edit) => setDraft({ ...draft, headers: { ...draft.headers, [name]: edit } })}
        onAdd={(pair) => setDraft({ ...draft, newHeader: pair })}
      />
      <NamedValues
        kind="metadata"
        current={item.metadata}
        edits={draft.metadata}
        added={draft.newMetadata}
        error={fields.metadata}
        onEdit={(name, edit) => setDraft({ ...draft, metadata: { ...draft.metadata, [name]: edit } })}
        onAdd={(pair) => setDraft({ ...draft, newMetadata: pair })}
      />
      {field("filter", "Content filter (JSON event pattern; empty for none)", (id, described) => (
        <textarea
          id={id}
          class="json"
          rows={Math.min(14, Math.max(4, draft.filter.split("\n").length + 1))}
          spellcheck={false}
          value={draft.filter}
          aria-invalid={described ? "true" : undefined}
          aria-describedby={described}
          onInput={(e) => setDraft({ ...draft, filter: e.currentTarget.value })}
        />
      ))}
      {error?.status === 412 && (
        <p role="alert" class="problem">
          This subscription changed meanwhile (someone else saved it): reload it, then make your change again.{" "}
          <button type="button" class="secondary" onClick={() => void onReload()}>
            Reload
          </button>
        </p>
      )}
      {error && error.status === 422 && (
        <p role="alert" class="problem">
          Not saved: {other.length > 0 ? other.join("; ") : "see the fields above."}
        </p>
      )}
      {error && error.status !== 412 && error.status !== 422 && <Problem error={error} />}
      <button type="submit">Save changes</button>
      <span role="status" class="note">
        {said}
      </span>
    </form>
  );
}

const RECOVER_WINDOWS: Record<string, number> = { "1h": 3600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

function RecoverDeliveries({ path, onQueued }: { path: string; onQueued: () => void }) {
  const [window, setWindow] = useState("24h");
  const [since, setSince] = useState("");
  const [result, setResult] = useState<RecoverResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const recover = async (from: string) => {
    try {
      setError(null);
      setResult(await call<RecoverResult>("POST", `${path}/recover`, { body: { since: from } }));
      onQueued();
    } catch (caught) {
      setResult(null);
      setError(caught as ApiError);
    }
  };
  return (
    <form
      class="card"
      aria-labelledby="recover-title"
      onSubmit={(event) => {
        event.preventDefault();
        const from = window === "custom" ? isoFromLocal(since) : new Date(Date.now() - RECOVER_WINDOWS[window]).toISOString();
        if (from) void recover(from);
      }}
    >
      <h2 id="recover-title">Recover failed deliveries</h2>
      <p class="note">
        Sends again, once each, every delivery that failed for good (dead-lettered or refused with 410) for events received since then
        (at most 14 days back). The subscription must be active.
      </p>
      <div class="field inline-field">
        <label for="recover-window">Failed since</label>
        <select id="recover-window" value={window} onChange={(e) => setWindow(e.currentTarget.value)}>
          <option value="1h">the last hour</option>
          <option value="24h">the last 24 hours</option>
          <option value="7d">the last 7 days</option>
          <option value="custom">a date and time…</option>
        </select>
      </div>
      {window === "custom" && (
        <div class="field inline-field">
          <label for="recover-since">Events received since</label>
          <input id="recover-since" type="datetime-local" required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </div>
      )}
      <button type="submit">Recover</button>
      {error && <Problem error={error} />}
      {result && (
        <div role="status" data-testid="recover-result">
          <p>
            {result.queued} queued again, {result.in_progress} already in progress (left alone).
          </p>
          {result.truncated && result.next_since && (
            <p>
              More failed deliveries than one call takes.{" "}
              <button type="button" onClick={() => void recover(result.next_since!)}>
                Continue from {when(result.next_since)}
              </button>
            </p>
          )}
        </div>
      )}
    </form>
  );
}

function SubscriptionsPage() {
  const list = useLoad(() => call<{ data: Subscription[] }>("GET", "/v1/subscriptions"), []);
  const [issued, setIssued] = useState<SubscriptionWithSecret | null>(null);
  return (
    <section aria-labelledby="subscriptions-title">
      <h1 id="subscriptions-title">Subscriptions</h1>
      {issued && <SecretShownOnce issued={issued} onDone={() => setIssued(null)} />}
      <CreateSubscription
        onCreated={(created) => {
          setIssued(created);
          void list.reload();
        }}
      />
      {list.error && <Problem error={list.error} />}
      {list.data && list.data.data.length === 0 && <p>No subscriptions yet.</p>}
      {list.data && list.data.data.length > 0 && (
        <Table caption="Subscriptions" head={["Subscription", "Target", "Event types", "Status"]}>
          {list.data.data.map((subscription) => (
            <tr key={subscription.id} data-subscription-id={subscription.id}>
              <td>
                <a href={`#/subscriptions/${subscription.id}`}>
                  <code>{subscription.id}</code>
                </a>
              </td>
              <td class="wrap">{subscription.target_url}</td>
              <td>{subscription.event_types.join(", ")}</td>
              <td>
                <Badge value={subscription.status} />
                {subscription.disabled_reason && <span class="note"> {subscription.disabled_reason}</span>}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function WindowPicker({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return (
    <div class="field inline-field">
      <label for="stats-window">Window</label>
      <select id="stats-window" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="1h">last hour</option>
        <option value="24h">last day</option>
      </select>
    </div>
  );
}

function StatsFacts({ stats }: { stats: Stats }) {
  return (
    <dl class="facts card">
      <dt>Success rate</dt>
      <dd data-testid="success-rate">{percent(stats.success_rate)}</dd>
      <dt>Attempts</dt>
      <dd>
        {stats.attempts}: {stats.outcomes.succeeded} succeeded, {stats.outcomes.failed} failed, {stats.outcomes.no_response} without
        response, {stats.outcomes.not_sent} not sent
      </dd>
      <dt>Latency</dt>
      <dd>
        p50 {stats.latency_ms.p50 ?? "—"} ms, p95 {stats.latency_ms.p95 ?? "—"} ms, p99 {stats.latency_ms.p99 ?? "—"} ms
      </dd>
      {stats.truncated && (
        <>
          <dt>Note</dt>
          <dd>Only the newest {stats.records_read} delivery records were read.</dd>
        </>
      )}
    </dl>
  );
}

function SubscriptionPage({ id }: { id: string }) {
  const path = `/v1/subscriptions/${encode(id)}`;
  const subscription = useLoad(() => callWithEtag<Subscription>("GET", path), [id]);
  const deliveries = useLoad(() => call<Page<Delivery>>("GET", `${path}/deliveries`, { query: { limit: 20 } }), [id]);
  const [window, setWindow] = useState("1h");
  const stats = useLoad(() => call<Stats>("GET", `${path}/stats`, { query: { window } }), [id, window]);
  const [issued, setIssued] = useState<SubscriptionWithSecret | null>(null);
  const [said, setSaid] = useState<ComponentChildren>("");
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleted, setDeleted] = useState(false);
  const [disabling, setDisabling] = useState(false);
  const [reason, setReason] = useState("");
  const [replayIds, setReplayIds] = useState("");
  const [saved, setSaved] = useState("");

  const act = async (action: () => Promise<void>) => {
    try {
      setFailure(null);
      await action();
    } catch (caught) {
      setFailure(caught as ApiError);
    }
  };

  if (deleted) {
    return (
      <section>
        <h1>Subscription deleted</h1>
        <p role="status">
          <code>{id}</code> was deleted: no more deliveries.
        </p>
        <a href="#/subscriptions">Back to subscriptions</a>
      </section>
    );
  }
  if (subscription.error) {
    return (
      <section>
        <h1>Subscription</h1>
        <Problem error={subscription.error} what="Subscription" />
        <a href="#/subscriptions">Back to subscriptions</a>
      </section>
    );
  }
  if (!subscription.data) return <p>Loading…</p>;
  const { data: item, etag } = subscription.data;
  const testType = item.event_types.find((type) => type !== "*") ?? "console.test";
  return (
    <section aria-labelledby="subscription-title">
      <h1 id="subscription-title">
        Subscription <code>{item.id}</code>
      </h1>
      {issued && <SecretShownOnce issued={issued} onDone={() => setIssued(null)} />}
      <dl class="facts card">
        <dt>Target</dt>
        <dd class="wrap">{item.target_url}</dd>
        <dt>Event types</dt>
        <dd data-testid="subscription-event-types">{item.event_types.join(", ")}</dd>
        <dt>Description</dt>
        <dd data-testid="subscription-description">{item.description ?? "—"}</dd>
        <dt>Rate limit</dt>
        <dd>{item.rate_limit === null ? "none" : `${item.rate_limit} per second`}</dd>
        <dt>Ordering</dt>
        <dd>{item.ordering}</dd>
        <dt>Custom headers</dt>
        <dd class="wrap" data-testid="subscription-headers">
          {Object.keys(item.headers).length === 0
            ? "none"
            : Object.entries(item.headers)
                .map(([name, masked]) => `${name}: ${masked}`)
                .join(", ")}
        </dd>
        <dt>Metadata</dt>
        <dd class="wrap" data-testid="subscription-metadata">
          {Object.keys(item.metadata).length === 0
            ? "none"
            : Object.entries(item.metadata)
                .map(([name, value]) => `${name}=${value}`)
                .join(", ")}
        </dd>
        <dt>Content filter</dt>
        <dd class="wrap" data-testid="subscription-filter">
          {item.filter === null ? "none" : <code>{JSON.stringify(item.filter)}</code>}
        </dd>
        <dt>Status</dt>
        <dd data-testid="subscription-status">
          <Badge value={item.status} />
          {item.disabled_reason && <span> {item.disabled_reason}</span>}
        </dd>
        <dt>Failing since</dt>
        <dd>{when(item.failing_since)}</dd>
        <dt>Created</dt>
        <dd>{when(item.created_at)}</dd>
      </dl>
      <div class="actions">
        {item.status !== "active" && (
          <button
            type="button"
            onClick={() =>
              act(async () => {
                await call<Subscription>("POST", `${path}/enable`);
                setSaid("Enabled: deliveries resume with the next event.");
                await subscription.reload();
              })
            }
          >
            Enable
          </button>
        )}
        {item.status === "active" && !disabling && (
          <button type="button" class="danger" onClick={() => setDisabling(true)}>
            Disable…
          </button>
        )}
        <button
          type="button"
          onClick={() =>
            act(async () => {
              setIssued(await call<SubscriptionWithSecret>("POST", `${path}/rotate-secret`));
              setSaid("New secret issued; the previous one keeps signing for 24 h.");
            })
          }
        >
          Rotate secret
        </button>
        <button
          type="button"
          onClick={() =>
            act(async () => {
              const sent = await call<{ id: string }>("POST", "/v1/events", {
                body: { event_type: testType, source: "console", payload: { test: true, subscription_id: item.id } },
              });
              setSaid(
                <>
                  Test event <a href={`#/events/${sent.id}`}>{sent.id}</a> ({testType}) sent.
                </>,
              );
              void deliveries.reload();
            })
          }
        >
          Send a test event
        </button>
        {!confirming && (
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </div>
      {disabling && item.status === "active" && (
        <div class="card confirm" role="alertdialog" aria-labelledby="disable-title">
          <p id="disable-title">
            Disable this subscription? No event is delivered to it until it is enabled again; its deliveries waiting for a
            retry are dead-lettered (replay or recover them after enabling).
          </p>
          <label>
            Reason (optional)
            <input
              type="text"
              name="disable-reason"
              maxLength={200}
              value={reason}
              placeholder="e.g. receiver down for maintenance"
              onInput={(event) => setReason((event.target as HTMLInputElement).value)}
            />
          </label>
          <button
            type="button"
            class="danger"
            onClick={() =>
              act(async () => {
                const why = reason.trim();
                await call<Subscription>("POST", `${path}/disable`, why ? { body: { reason: why } } : {});
                setDisabling(false);
                setReason("");
                setSaid("Disabled: no deliveries until it is enabled again.");
                await subscription.reload();
              })
            }
          >
            Disable subscription
          </button>{" "}
          <button type="button" class="secondary" onClick={() => setDisabling(false)}>
            Cancel
          </button>
        </div>
      )}
      {confirming && (
        <div class="card confirm" role="alertdialog" aria-labelledby="confirm-title">
          <p id="confirm-title">Delete this subscription? Deliveries stop at once; this cannot be undone.</p>
          <button
            type="button"
            class="danger"
            onClick={() =>
              act(async () => {
                await call<void>("DELETE", path);
                setDeleted(true);
              })
            }
          >
            Delete subscription
          </button>{" "}
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <p role="status" class="note">
        {said}
      </p>
      {failure && <Problem error={failure} />}

      <h2>Delivery statistics</h2>
      <WindowPicker value={window} onChange={setWindow} />
      {stats.error && <Problem error={stats.error} />}
      {stats.data && (
        <>
          <StatsFacts stats={stats.data} />
          <StatsCharts stats={stats.data} />
        </>
      )}

      <h2>Recent deliveries</h2>
      {deliveries.error && <Problem error={deliveries.error} />}
      {deliveries.data && deliveries.data.data.length === 0 && <p>No deliveries yet.</p>}
      {deliveries.data && deliveries.data.data.length > 0 && (
        <Table caption="Recent deliveries, newest event first" head={["Event", "State", "Attempts", "Last status", "Updated"]}>
          {deliveries.data.data.map((delivery) => {
            const last = delivery.attempts[delivery.attempts.length - 1];
            return (
              <tr key={delivery.event_id}>
                <td>
                  <a href={`#/events/${delivery.event_id}`}>
                    <code>{delivery.event_id}</code>
                  </a>
                </td>
                <td>
                  <Badge value={delivery.state} />
                </td>
                <td>{delivery.attempt_count}</td>
                <td>{last ? (last.status_code ?? last.error ?? "no response") : "—"}</td>
                <td>{when(delivery.updated_at)}</td>
              </tr>
            );
          })}
        </Table>
      )}

      <EditSubscription
        key={etag ?? item.updated_at}
        item={item}
        etag={etag}
        path={path}
        onSaved={async () => {
          await subscription.reload();
          setSaved("Saved: the change applies to events accepted from now on.");
        }}
        onReload={async () => {
          setSaved("");
          await subscription.reload();
        }}
      />
      <p role="status" class="note" data-testid="edit-status">
        {saved}
      </p>

      <RecoverDeliveries path={path} onQueued={() => void deliveries.reload()} />

      <h2>Replay</h2>
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          void act(async () => {
            const ids = replayIds.split(/[\s,]+/).filter(Boolean);
            const result = await call<ReplayResult>("POST", `${path}/replay`, { body: { event_ids: ids } });
            setSaid(result.data.map((entry) => `${entry.event_id}: ${entry.outcome}`).join("; "));
          });
        }}
      >
        <label for="replay-ids">Event ids to deliver again (space or comma separated)</label>
        <input id="replay-ids" value={replayIds} onInput={(e) => setReplayIds(e.currentTarget.value)} required />
        <button type="submit">Replay</button>
      </form>
    </section>
  );
}

// --- charts --------------------------------------------------------------------------------------

function ChartsPage() {
  const [window, setWindow] = useState("1h");
  const stats = useLoad(() => call<TenantStats>("GET", "/v1/stats", { query: { window } }), [window]);
  return (
    <section aria-labelledby="charts-title">
      <h1 id="charts-title">Delivery charts</h1>
      <WindowPicker value={window} onChange={setWindow} />
      <button type="button" class="secondary" onClick={() => void stats.reload()}>
        Refresh
      </button>
      {stats.error && <Problem error={stats.error} />}
      {stats.data && (
        <>
          <StatsFacts stats={stats.data} />
          <StatsCharts stats={stats.data} />
          <Table caption="Per subscription" head={["Subscription", "Success rate", "Attempts", "Failed", "p95 latency"]}>
            {stats.data.data.map((entry) => (
              <tr key={entry.subscription_id}>
                <td>
                  <a href={`#/subscriptions/${entry.subscription_id}`}>
                    <code>{entry.subscription_id}</code>
                  </a>
                </td>
                <td>{percent(entry.success_rate)}</td>
                <td>{entry.attempts}</td>
                <td>{entry.outcomes.failed + entry.outcomes.no_response}</td>
                <td>{entry.latency_ms.p95 ?? "—"} ms</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}

// --- the shell -----------------------------------------------------------------------------------

function Page({ hash }: { hash: string }) {
  const [, section, id] = hash.split("/");
  if (section === "events" && id) return <EventPage id={decodeURIComponent(id)} />;
  if (section === "subscriptions" && id) return <SubscriptionPage id={decodeURIComponent(id)} />;
  if (section === "subscriptions") return <SubscriptionsPage />;
  if (section === "charts") return <ChartsPage />;
  return <EventsPage />;
}

function App() {
  const [key, setKey] = useState(storedKey());
  const hash = useHash();
  if (!key) {
    return (
      <KeyForm
        onKey={(entered) => {
          storeKey(entered);
          setKey(entered);
        }}
      />
    );
  }
  const section = hash.split("/")[1] || "events";
  const link = (name: string, label: string) => (
    <a href={`#/${name}`} aria-current={section === name ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header>
        <strong class="brand">Triggers</strong>
        <nav aria-label="Console">
          {link("events", "Events")}
          {link("subscriptions", "Subscriptions")}
          {link("charts", "Charts")}
        </nav>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            forgetKey();
            setKey(null);
          }}
        >
          Forget key
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page hash={hash} key={hash} />
      </main>
    </>
  );
}

const root = document.getElementById("app")!;
root.textContent = "";
render(<App />, root);
