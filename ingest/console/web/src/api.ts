// The public API, called with the key the user entered: kept in this tab's sessionStorage and sent
// only as the `Authorization: Bearer` header (never in a URL, never logged).

const KEY_NAME = "triggers.apiKey";

// The API's base path: wherever the console is served from, minus `/console`.
export const API_BASE = location.pathname.replace(/\/console\/?$/, "");

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_NAME);
}

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(`${title}: ${detail}`);
  }
}

export type Query = Record<string, string | number | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export interface CallOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  return (await callWithEtag<T>(method, path, options)).data;
}

// The answer and its `ETag` header (what `If-Match` takes), or null without one.
export async function callWithEtag<T>(method: string, path: string, options: CallOptions = {}): Promise<{ data: T; etag: string | null }> {
  const headers: Record<string, string> = { ...options.headers, Authorization: `Bearer ${storedKey() ?? ""}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(API_BASE + withQuery(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "Network error", "the API did not answer");
  }
  const etag = response.headers.get("ETag");
  if (response.status === 204) return { data: undefined as T, etag };
  const document = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(
      response.status,
      document?.title ?? `HTTP ${response.status}`,
      document?.detail ?? response.statusText,
      Array.isArray(document?.errors) ? document.errors : [],
    );
  }
  return { data: document as T, etag };
}

export const encode = encodeURIComponent;

// --- what the API answers (docs/openapi.json) ---

export interface EventOut {
  id: string;
  event_type: string;
  source: string | null;
  occurred_at: string | null;
  received_at: string;
  status: string;
  rev: number;
  payload: unknown;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Attempt {
  at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export interface Delivery {
  event_id: string;
  subscription_id: string;
  target_url: string;
  state: string;
  attempts: Attempt[];
  attempt_count: number;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Subscription {
  id: string;
  target_url: string;
  event_types: string[];
  status: string;
  disabled_reason: string | null;
  failing_since: string | null;
  description: string | null;
  rate_limit: number | null;
  ordering: "none" | "strict";
  metadata: Record<string, string>;
  // Custom headers, values masked by the API (`Bearer ****abcd`): write-only, never shown in full.
  headers: Record<string, string>;
  filter: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

// A JSON merge patch of a subscription (PATCH /v1/subscriptions/{id}): absent is unchanged, null removes.
export interface SubscriptionPatch {
  target_url?: string;
  event_types?: string[];
  description?: string | null;
  rate_limit?: number | null;
  ordering?: "none" | "strict";
  // Merged name by name: a value sets that name, null removes it.
  metadata?: Record<string, string | null>;
  headers?: Record<string, string | null>;
  // Replaced whole; null removes the filter.
  filter?: Record<string, unknown> | null;
}

export interface SubscriptionWithSecret extends Subscription {
  secret: string;
  previous_secret_expires_at: string | null;
}

export interface Outcomes {
  succeeded: number;
  failed: number;
  no_response: number;
  not_sent: number;
}

export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Bucket {
  start: string;
  attempts: Outcomes;
  latency_ms: Latency;
}

export interface Stats {
  window: string;
  since: string;
  until: string;
  bucket_seconds: number;
  attempts: number;
  success_rate: number | null;
  outcomes: Outcomes;
  deliveries: Record<string, number>;
  latency_ms: Latency;
  series: Bucket[];
  records_read: number;
  truncated: boolean;
}

export interface SubscriptionSummary {
  subscription_id: string;
  attempts: number;
  success_rate: number | null;
  outcomes: Outcomes;
  latency_ms: Latency;
  records_read: number;
  truncated: boolean;
}

export interface TenantStats extends Stats {
  data: SubscriptionSummary[];
}

export interface ReplayResult {
  data: { event_id: string; outcome: string }[];
}

export interface RecoverResult {
  queued: number;
  in_progress: number;
  truncated: boolean;
  next_since: string | null;
}
