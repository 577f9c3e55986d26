'use strict';

// The Triggers API as the app sees it: where it is, how its answers map to Zapier errors, and the
// one shape both the push (a webhook body) and the sample list (performList) return.

const DEFAULT_API_URL = 'http://127.0.0.1:3000';
// Zapier shows at most this many characters of an error message.
const MAX_MESSAGE_CHARS = 250;
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

const isLoopback = (hostname) =>
  LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

// The deployed API's base URL from the connection, without a trailing slash. Plain http is
// accepted only on this machine: anywhere else it would send the API key in clear.
const apiBase = (z, bundle) => {
  const raw = String((bundle.authData && bundle.authData.api_url) || DEFAULT_API_URL).trim();
  let url;
  try {
    url = new URL(raw);
  } catch (_err) {
    throw new z.errors.Error(`The API URL "${raw}" is not a URL, e.g. https://api.example.com`, 'InvalidApiUrl', 400);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new z.errors.Error(
      `The API URL must use https (plain http only for 127.0.0.1 or localhost): ${raw}`,
      'InvalidApiUrl',
      400,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new z.errors.Error(
      'The API URL must not contain credentials, a query or a fragment: give the API key in its own field',
      'InvalidApiUrl',
      400,
    );
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
};

const truncate = (text, limit = MAX_MESSAGE_CHARS) =>
  text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;

// The problem+json document of an error answer, or what the body says otherwise (API Gateway
// answers throttling and its own failures with {"message": "..."}).
const problemOf = (response) => {
  const data = response.data && typeof response.data === 'object' ? response.data : {};
  let detail = data.detail || data.message;
  if (!detail) {
    const text = typeof response.content === 'string' ? response.content.trim() : '';
    detail = text ? text.slice(0, 200) : `HTTP ${response.status}`;
  }
  const slug = typeof data.type === 'string' ? data.type.split('/').pop() : null;
  return {
    slug,
    title: typeof data.title === 'string' ? data.title : null,
    detail: String(detail),
    errors: Array.isArray(data.errors) ? data.errors : [],
    subscriptionId: data.subscription_id,
  };
};

// Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; null when absent.
const retryAfterSeconds = (response, now = Date.now()) => {
  const value = response.getHeader ? response.getHeader('retry-after') : null;
  if (!value) {
    return null;
  }
  if (/^\s*\d+\s*$/.test(value)) {
    return parseInt(value, 10);
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
};

// The Zapier error for an API answer of 400 or more, with the API's own explanation in it.
const apiError = (z, response) => {
  const problem = problemOf(response);
  const { status } = response;
  if (status === 401) {
    return new z.errors.Error(
      truncate(
        `Triggers refused the API key (${problem.detail}). Check the key, or create one with ` +
          '`triggers keys create`, and reconnect the account.',
      ),
      'AuthenticationError',
      401,
    );
  }
  if (status === 429 || status === 503) {
    const wait = retryAfterSeconds(response);
    const why = status === 429 ? 'Triggers is rate limiting this API key' : 'Triggers is temporarily unavailable';
    const when = wait === null ? 'Zapier will retry later' : `retry in ${wait} s`;
    return new z.errors.ThrottledError(truncate(`${why} (${problem.detail}); ${when}.`), wait);
  }
  const fields = problem.errors
    .filter((error) => error && typeof error === 'object')
    .map((error) => `${error.field}: ${error.message}`);
  const head = problem.title
    ? `${problem.title} (HTTP ${status}): ${problem.detail}`
    : `Triggers API answered HTTP ${status}: ${problem.detail}`;
  const text = [head, ...fields].join('; ');
  return new z.errors.Error(truncate(text), problem.slug || `HTTP${status}`, status);
};

// A Triggers webhook body, {id, type, timestamp, data}, as the fanout sends it
// (processors/webhooks/signing.py `envelope`): `timestamp` is when the event occurred, or when it
// was received if the producer did not say, and `data` is the producer's payload.
const webhookBodyFromEvent = (event) => ({
  id: event.id,
  type: event.event_type,
  timestamp: event.occurred_at || event.received_at,
  data: event.payload,
});

// The same shape from what Zapier caught at the hook URL; null when it is not a Triggers event.
const webhookBodyFromPush = (body) => {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return null;
  }
  const { id, type, timestamp, data } = body;
  if (typeof id !== 'string' || typeof type !== 'string' || typeof timestamp !== 'string') {
    return null;
  }
  return { id, type, timestamp, data };
};

module.exports = {
  DEFAULT_API_URL,
  apiBase,
  apiError,
  problemOf,
  retryAfterSeconds,
  webhookBodyFromEvent,
  webhookBodyFromPush,
};
