'use strict';

// The "Send Event" action against a running Triggers stack: what it stores, what it refuses and
// how it says so, and retries with an Idempotency-Key.

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const zapier = require('zapier-platform-core');

const App = require('../index');
const { NEEDS_STACK, api, appError, authData, report, uniqueType } = require('./support');

const appTester = zapier.createAppTester(App);
const sendEvent = App.creates.send_event.operation;

const send = (inputData, auth = authData()) => appTester(sendEvent.perform, { authData: auth, inputData });

const eventsOfType = async (type) => (await api(`/v1/events?event_type=${encodeURIComponent(type)}`)).json.data;

// The rejection `promise` gives, as {message, code, status}, after checking nothing was stored.
const refused = async (promise, type) => {
  let error;
  await assert.rejects(promise, (err) => {
    error = appError(err);
    return true;
  });
  assert.deepEqual(await eventsOfType(type), [], 'nothing is stored');
  return error;
};

describe('Send Event', { skip: NEEDS_STACK }, () => {
  it('stores the event with its payload exactly as written', async () => {
    const type = uniqueType('send');
    const payload = '{"amount": 1.50, "big": 1e3, "name": "caf\\u00e9"}';
    const sent = await send({ event_type: type, source: 'zapier', payload });
    assert.deepEqual(Object.keys(sent).sort(), ['event_type', 'id', 'received_at', 'replayed', 'status']);
    assert.equal(sent.event_type, type);
    assert.equal(sent.replayed, false);
    const stored = await api(`/v1/events/${sent.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.json.source, 'zapier');
    assert.ok(stored.text.endsWith(`"payload":${payload}}`), stored.text);
    report('send', { event_id: sent.id, payload });
  });

  it('the same Idempotency-Key again returns the first event and stores no second one', async () => {
    const type = uniqueType('idem');
    const input = { event_type: type, payload: '{"n": 1}', idempotency_key: `zap-run-${type}` };
    const first = await send(input);
    const again = await send(input);
    assert.equal(again.id, first.id);
    assert.equal(again.replayed, true);
    assert.deepEqual(
      (await eventsOfType(type)).map((event) => event.id),
      [first.id],
    );
  });

  it('the same Idempotency-Key with another payload is refused with the API reason', async () => {
    const type = uniqueType('conflict');
    const key = `zap-run-${type}`;
    await send({ event_type: type, payload: '{"n": 1}', idempotency_key: key });
    await assert.rejects(send({ event_type: type, payload: '{"n": 2}', idempotency_key: key }), (err) => {
      const { status, code } = appError(err);
      assert.equal(status, 409);
      assert.equal(code, 'idempotency-conflict');
      return true;
    });
    assert.equal((await eventsOfType(type)).length, 1);
  });

  it('a payload that is not JSON is refused before anything is sent', async () => {
    const type = uniqueType('notjson');
    const error = await refused(send({ event_type: type, payload: '{"order_id": 42,' }), type);
    assert.equal(error.code, 'InvalidPayload');
    assert.match(error.message, /^Payload is not valid JSON/);
  });

  it('a payload that is JSON but not an object is refused', async () => {
    const type = uniqueType('array');
    const error = await refused(send({ event_type: type, payload: '[1, 2]' }), type);
    assert.match(error.message, /^Payload must be a JSON object/);
  });

  it('a schema violation surfaces the field the API names (422)', async () => {
    const type = uniqueType('schema');
    const error = await refused(send({ event_type: type, source: 's'.repeat(300), payload: '{}' }), type);
    assert.equal(error.status, 422);
    assert.equal(error.code, 'validation-failed');
    assert.match(error.message, /source: String should have at most 256 characters/);
  });

  it('a malformed request surfaces the API detail (400)', async () => {
    const type = uniqueType('badkey');
    const error = await refused(send({ event_type: type, payload: '{}', idempotency_key: 'k'.repeat(300) }), type);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'malformed-request');
    assert.match(error.message, /Idempotency-Key must be 1-255 printable ASCII characters/);
  });

  it('an oversized payload surfaces the limit (413)', async () => {
    const type = uniqueType('big');
    const payload = JSON.stringify({ blob: 'x'.repeat(70 * 1024) });
    const error = await refused(send({ event_type: type, payload }), type);
    assert.equal(error.status, 413);
    assert.equal(error.code, 'payload-too-large');
  });

  it('an unknown key is an authentication error and stores nothing', async () => {
    const type = uniqueType('unauth');
    const error = await refused(send({ event_type: type, payload: '{}' }, authData({ api_key: 'trg_nope' })), type);
    assert.equal(error.code, 'AuthenticationError');
    assert.equal(error.status, 401);
  });
});
