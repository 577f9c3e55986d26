'use strict';

const { apiBase, apiError, problemOf, webhookBodyFromEvent, webhookBodyFromPush } = require('../lib/api');

// How many recent events the Zap editor gets as samples.
const SAMPLE_COUNT = 25;
// The page read when several types are chosen (the listing filters on one type only).
const MULTI_TYPE_PAGE = 100;

// The chosen event types as the API takes them: a list of names, or exactly ["*"].
const eventTypes = (bundle) => {
  let value = bundle.inputData && bundle.inputData.event_types;
  if (typeof value === 'string') {
    value = value.split(',');
  }
  const types = (Array.isArray(value) ? value : [])
    .map((type) => String(type).trim())
    .filter((type) => type.length > 0);
  return types.length === 0 || types.includes('*') ? ['*'] : [...new Set(types)];
};

// What Zapier keeps as `subscribeData`: the subscription without its signing secret, which the
// app does not use (the hook URL is Zapier's own secret) and so does not store.
const stored = (subscription) => ({
  id: subscription.id,
  target_url: subscription.target_url,
  event_types: subscription.event_types,
  status: subscription.status,
  created_at: subscription.created_at,
});

const subscribe = async (z, bundle) => {
  const base = apiBase(z, bundle);
  const response = await z.request({
    url: `${base}/v1/subscriptions`,
    method: 'POST',
    body: { target_url: bundle.targetUrl, event_types: eventTypes(bundle) },
    skipThrowForStatus: true,
  });
  if (response.status === 201) {
    return stored(response.data);
  }
  // The hook URL is already subscribed to these types (Zapier retried a subscribe whose answer
  // it lost, or turns a Zap back on): the API names that subscription, which this Zap adopts,
  // turning it back on if deliveries to the hook had disabled it.
  const { subscriptionId } = problemOf(response);
  if (response.status === 409 && typeof subscriptionId === 'string') {
    const url = `${base}/v1/subscriptions/${encodeURIComponent(subscriptionId)}`;
    const existing = (await z.request({ url })).data;
    if (existing.status !== 'disabled') {
      return stored(existing);
    }
    return stored((await z.request({ url: `${url}/enable`, method: 'POST' })).data);
  }
  throw apiError(z, response);
};

const unsubscribe = async (z, bundle) => {
  const id = bundle.subscribeData && bundle.subscribeData.id;
  if (typeof id !== 'string' || id.length === 0) {
    throw new z.errors.Error('This Zap has no Triggers subscription id to unsubscribe', 'NoSubscription', 400);
  }
  const response = await z.request({
    url: `${apiBase(z, bundle)}/v1/subscriptions/${encodeURIComponent(id)}`,
    method: 'DELETE',
    skipThrowForStatus: true,
  });
  // 404: already gone (deleted by hand, or an earlier unsubscribe whose answer was lost).
  if (response.status !== 204 && response.status !== 404) {
    throw apiError(z, response);
  }
  return { id, unsubscribed: true };
};

// A push to the hook URL: the webhook body as sent. Anything else posted there is ignored.
const perform = (z, bundle) => {
  const caught = Array.isArray(bundle.cleanedRequest) ? bundle.cleanedRequest : [bundle.cleanedRequest];
  return caught.map(webhookBodyFromPush).filter((body) => body !== null);
};

// Samples for the Zap editor: the latest events, newest first, in the shape of a push.
const list = async (z, bundle) => {
  const types = eventTypes(bundle);
  const params = { limit: types.length > 1 ? MULTI_TYPE_PAGE : SAMPLE_COUNT };
  if (types.length === 1 && types[0] !== '*') {
    params.event_type = types[0];
  }
  const response = await z.request({ url: `${apiBase(z, bundle)}/v1/events`, params });
  return response.data.data
    .filter((event) => types[0] === '*' || types.includes(event.event_type))
    .slice(0, SAMPLE_COUNT)
    .map(webhookBodyFromEvent);
};

module.exports = {
  key: 'new_event',
  noun: 'Event',
  display: {
    label: 'New Event',
    description: 'Triggers instantly when an event of the chosen types is posted to Triggers.',
  },
  operation: {
    type: 'hook',
    inputFields: [
      {
        key: 'event_types',
        label: 'Event Types',
        type: 'string',
        list: true,
        required: false,
        default: '*',
        helpText: 'Event types to trigger on, e.g. `order.created`; `*` (the default) for every type.',
      },
    ],
    performSubscribe: subscribe,
    performUnsubscribe: unsubscribe,
    perform,
    performList: list,
    sample: {
      id: '01JDQ5V8X3K9T2W7M4N6P8R0SA',
      type: 'order.created',
      timestamp: '2026-01-02T03:04:05.000Z',
      data: { order_id: 42, total: 19.5 },
    },
    outputFields: [
      { key: 'id', label: 'Event ID', type: 'string' },
      { key: 'type', label: 'Event Type', type: 'string' },
      { key: 'timestamp', label: 'Occurred At', type: 'datetime' },
    ],
  },
};
