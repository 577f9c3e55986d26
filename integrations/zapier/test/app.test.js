'use strict';

// The app on its own: its definition, the mapping of pushes, the API URL rule and how answers the
// local stack never gives (throttling, outages, gateway errors) become Zapier errors.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');

const zapier = require('zapier-platform-core');

const App = require('../index');
const { appError, startStub } = require('./support');

const appTester = zapier.createAppTester(App);
const newEvent = App.triggers.new_event.operation;

describe('definition', () => {
  it('passes the schema check of `zapier validate`', async () => {
    const { results } = await zapier.createAppHandler(App)({ command: 'validate' });
    assert.deepEqual(results, []);
  });
});

describe('perform (a push to the hook URL)', () => {
  const push = {
    id: '01JDQ5V8X3K9T2W7M4N6P8R0SA',
    type: 'order.created',
    timestamp: '2026-01-02T03:04:05.000Z',
    data: { order_id: 42, nested: { ok: true } },
  };

  it('returns the webhook body with exactly its four members', async () => {
    const results = await appTester(newEvent.perform, { cleanedRequest: { ...push, querystring: 'x=1' } });
    assert.deepEqual(results, [push]);
  });

  it('ignores a request that is not a Triggers event', async () => {
    const results = await appTester(newEvent.perform, { cleanedRequest: { hello: 'world' } });
    assert.deepEqual(results, []);
  });
});

describe('API URL', () => {
  for (const [url, why] of [
    ['http://api.example.com', 'https'],
    ['not a url', 'not a URL'],
    ['https://user:pw@api.example.com', 'credentials'],
  ]) {
    it(`refuses ${url} before sending anything`, async () => {
      const stub = await startStub(() => ({ status: 200, body: '{}' }));
      try {
        await assert.rejects(
          appTester(App.authentication.test, { authData: { api_url: url, api_key: 'trg_x' } }),
          (err) => appError(err).code === 'InvalidApiUrl' && appError(err).message.includes(why),
        );
        assert.equal(stub.requests.length, 0);
      } finally {
        await stub.close();
      }
    });
  }
});

describe('answers from a gateway in front of the API', () => {
  let answer;
  let stub;
  before(async () => {
    stub = await startStub((request) => answer(request));
  });
  after(() => stub.close());
  const call = () =>
    appTester(newEvent.performList, { authData: { api_url: stub.url, api_key: 'trg_stub' }, inputData: {} });

  it('429 with Retry-After seconds is a ThrottledError with that delay', async () => {
    answer = () => ({ status: 429, headers: { 'retry-after': '7' }, body: '{"message":"Too Many Requests"}' });
    await assert.rejects(call(), (err) => {
      assert.equal(err.name, 'ThrottledError');
      const { message, delay } = JSON.parse(err.message);
      assert.equal(delay, 7);
      assert.match(message, /rate limiting.*Too Many Requests/);
      return true;
    });
  });

  it('429 with a Retry-After date waits until then', async () => {
    const at = new Date(Date.now() + 120000).toUTCString();
    answer = () => ({ status: 429, headers: { 'retry-after': at }, body: '{"message":"Too Many Requests"}' });
    await assert.rejects(call(), (err) => {
      const { delay } = JSON.parse(err.message);
      assert.equal(err.name, 'ThrottledError');
      assert.ok(delay > 0 && delay <= 120, `delay ${delay}`);
      return true;
    });
  });

  it('a 503 problem is a ThrottledError that keeps the detail', async () => {
    answer = () => ({
      status: 503,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        type: 'https://triggers.dev/problems/store-unavailable',
        title: 'Storage unavailable',
        status: 503,
        detail: 'events table read failed',
      }),
    });
    await assert.rejects(call(), (err) => {
      assert.equal(err.name, 'ThrottledError');
      assert.match(JSON.parse(err.message).message, /temporarily unavailable \(events table read failed\)/);
      return true;
    });
  });

  it('a gateway error without a problem document says its status and message', async () => {
    answer = () => ({ status: 502, body: '{"message":"Internal server error"}' });
    await assert.rejects(call(), (err) => {
      assert.deepEqual(appError(err), {
        message: 'Triggers API answered HTTP 502: Internal server error',
        code: 'HTTP502',
        status: 502,
      });
      return true;
    });
  });

  it('sends the API key to the API only', async () => {
    const elsewhere = await startStub(() => ({ status: 200, body: '{}' }));
    answer = () => ({ status: 200, body: '{"data":[],"next_cursor":null}' });
    try {
      const authData = { api_url: stub.url, api_key: 'trg_stub' };
      await appTester(newEvent.performList, { authData, inputData: {} });
      await appTester(async (z) => z.request({ url: `${elsewhere.url}/somewhere` }), { authData });
      assert.equal(stub.requests.at(-1).headers.authorization, 'Bearer trg_stub');
      assert.equal(elsewhere.requests[0].headers.authorization, undefined);
    } finally {
      await elsewhere.close();
    }
  });
});
