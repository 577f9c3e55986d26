'use strict';

const { apiBase } = require('../lib/api');

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// The payload text as the user wrote it, once it is known to be one JSON object. It is sent
// unchanged (the API stores the payload byte for byte, and subscribers get exactly this text).
const payloadText = (z, value) => {
  if (isObject(value)) {
    return JSON.stringify(value);
  }
  const text = String(value === undefined || value === null ? '' : value).trim();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new z.errors.Error(
      `Payload is not valid JSON (${err.message}); write a JSON object such as {"order_id": 42}`,
      'InvalidPayload',
      400,
    );
  }
  if (!isObject(parsed)) {
    throw new z.errors.Error(
      'Payload must be a JSON object such as {"order_id": 42}, not an array, string or number',
      'InvalidPayload',
      400,
    );
  }
  return text;
};

const sendEvent = async (z, bundle) => {
  const { event_type: eventType, source, payload, idempotency_key: idempotencyKey } = bundle.inputData;
  const text = payloadText(z, payload);
  const members = [`"event_type":${JSON.stringify(String(eventType === undefined ? '' : eventType))}`];
  if (source !== undefined && source !== null && String(source) !== '') {
    members.push(`"source":${JSON.stringify(String(source))}`);
  }
  members.push(`"payload":${text}`);
  const headers = { 'Content-Type': 'application/json' };
  if (idempotencyKey !== undefined && idempotencyKey !== null && String(idempotencyKey) !== '') {
    headers['Idempotency-Key'] = String(idempotencyKey);
  }
  const response = await z.request({
    url: `${apiBase(z, bundle)}/v1/events`,
    method: 'POST',
    headers,
    body: `{${members.join(',')}}`,
  });
  // 200: a retry with the same Idempotency-Key and body; the original event, nothing stored.
  return { ...response.data, replayed: response.status === 200 };
};

module.exports = {
  key: 'send_event',
  noun: 'Event',
  display: {
    label: 'Send Event',
    description: 'Posts an event to Triggers, which delivers it to every matching subscriber.',
  },
  operation: {
    inputFields: [
      {
        key: 'event_type',
        label: 'Event Type',
        type: 'string',
        required: true,
        helpText: 'e.g. `order.created`: letters, digits and `_ . : -`, starting with a letter or digit (at most 128).',
      },
      {
        key: 'source',
        label: 'Source',
        type: 'string',
        required: false,
        helpText: 'Where the event comes from, e.g. `shop` (optional, at most 256 characters).',
      },
      {
        key: 'payload',
        label: 'Payload (JSON)',
        type: 'text',
        required: true,
        helpText: 'The event data as a JSON object, e.g. `{"order_id": 42}`. It is stored and delivered exactly as written.',
      },
      {
        key: 'idempotency_key',
        label: 'Idempotency Key',
        type: 'string',
        required: false,
        helpText:
          'Optional. Sending again with the same key and payload returns the first event instead of storing ' +
          'a second one (for 24 hours); the same key with another payload is refused.',
      },
    ],
    perform: sendEvent,
    sample: {
      id: '01JDQ5V8X3K9T2W7M4N6P8R0SA',
      event_type: 'order.created',
      received_at: '2026-01-02T03:04:05.123Z',
      status: 'pending',
      replayed: false,
    },
    outputFields: [
      { key: 'id', label: 'Event ID', type: 'string' },
      { key: 'event_type', label: 'Event Type', type: 'string' },
      { key: 'received_at', label: 'Received At', type: 'datetime' },
      { key: 'status', label: 'Status', type: 'string' },
      { key: 'replayed', label: 'Replayed (same Idempotency Key)', type: 'boolean' },
    ],
  },
};
