/**
 * The Triggers API client: `paths` and `components` are generated from docs/openapi.json into
 * ./schema.ts by openapi-typescript (`make sdk`); openapi-fetch turns them into a typed `fetch`.
 * This file is written by hand and only adds the API key and a few type names.
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type EventIn = Schemas["EventIn"];
export type EventOut = Schemas["EventOut"];
export type EventPage = Schemas["EventPage"];
export type SubscriptionIn = Schemas["SubscriptionIn"];
export type SubscriptionOut = Schemas["SubscriptionOut"];
export type SubscriptionWithSecret = Schemas["SubscriptionWithSecret"];

export interface TriggersClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` (the local stack) or your API Gateway stage URL. */
  baseUrl: string;
  /** A tenant's API key (`Authorization: Bearer <key>` on every request). */
  apiKey: string;
}

export type TriggersClient = Client<paths>;

/**
 * A typed client: `client.POST("/v1/events", { body })`, `client.GET("/v1/events", { params })`...
 * Each call resolves to `{ data }` on a documented 2xx and `{ error }` (a problem+json `Problem`)
 * on a documented error status, with `response` for the rest; it rejects only when there is no answer.
 */
export function createTriggersClient({ baseUrl, apiKey, headers, ...options }: TriggersClientOptions): TriggersClient {
  return createClient<paths>({
    ...options,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: { ...headers, Authorization: `Bearer ${apiKey}` },
  });
}
