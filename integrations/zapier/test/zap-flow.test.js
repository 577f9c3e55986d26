'use strict';

// A Zap's life against a running Triggers stack: connect, turn the Zap on (subscribe), an event
// is pushed to the hook URL, Zapier runs perform on it, the editor's samples (performList) have
// the push's shape, and the Zap is turned off (unsubscribe).

const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { after, before, describe, it } = require('node:test');

const zapier = require('zapier-platform-core');

const App = require('../index');
const { NEEDS_STACK, api, appError, authData, report, startHookCatcher, uniqueType, waitFor } = require('./support');

const appTester = zapier.createAppTester(App);
const newEvent = App.triggers.new_event.operation;
const sendEvent = App.creates.send_event.operation;

describe('connecting an account', { skip: NEEDS_STACK }, () => {
  it('tests the key against GET /v1/me and labels the connection with its tenant, hint and host', async () => {
    const auth = authData();
    const tested = await appTester(App.authentication.test, { authData: auth });
    const host = new URL(auth.api_url).host;
    assert.equal(tested.key_hint, auth.api_key.slice(0, 8));
    assert.equal(tested.api_host, host);
    assert.match(tested.key_id, /^[0-9a-f]{16}$/);
    const label = await appTester(App.authentication.connectionLabel, { authData: auth, inputData: tested });
    assert.equal(label, `${tested.tenant_id} (${auth.api_key.slice(0, 8)}…) @ ${host}`);
    report('connection', { tested, label });
  });

  it('refuses an unknown key with an authentication error', async () => {
    // A key no other test sends: the API remembers refused keys for a minute and then answers
    // "unknown, revoked or expired", and the session's stack is shared with other test files.
    const unknownKey = `trg_not-a-real-key-${randomUUID()}`;
    await assert.rejects(
      appTester(App.authentication.test, { authData: authData({ api_key: unknownKey }) }),
      (err) => {
        const { message, code, status } = appError(err);
        assert.equal(code, 'AuthenticationError');
        assert.equal(status, 401);
        assert.match(message, /^Triggers refused the API key \(unknown API key\)/);
        return true;
      },
    );
  });
});

describe('a Zap on "New Event"', { skip: NEEDS_STACK }, () => {
  const type = uniqueType('flow');
  const other = uniqueType('other');
  let hook;
  let subscribeData;
  let pushed;
  let eventId;

  before(async () => {
    hook = await startHookCatcher();
  });
  after(() => hook.close());

  const bundle = (extra = {}) => ({
    authData: authData(),
    inputData: { event_types: [type] },
    targetUrl: hook.url,
    ...extra,
  });

  it('turning the Zap on subscribes the hook URL to the chosen types', async () => {
    subscribeData = await appTester(newEvent.performSubscribe, bundle());
    assert.match(subscribeData.id, /^sub_/);
    assert.equal(subscribeData.secret, undefined, 'the signing secret is not kept in subscribeData');
    const subscription = await api(`/v1/subscriptions/${subscribeData.id}`);
    assert.equal(subscription.status, 200);
    assert.equal(subscription.json.target_url, hook.url);
    assert.deepEqual(subscription.json.event_types, [type]);
    assert.equal(subscription.json.status, 'active');
  });

  it('a retried subscribe gets the same subscription, not a second one', async () => {
    const again = await appTester(newEvent.performSubscribe, bundle());
    assert.equal(again.id, subscribeData.id);
    const mine = (await api('/v1/subscriptions')).json.data.filter((s) => s.target_url === hook.url);
    assert.deepEqual(
      mine.map((s) => s.id),
      [subscribeData.id],
    );
  });

  it('an event of the type is pushed to the hook URL and perform maps it', async () => {
    const payload = '{"order_id": 42, "total": 19.50, "note": "caf\\u00e9"}';
    await appTester(sendEvent.perform, {
      authData: authData(),
      inputData: { event_type: other, payload: '{"not": "for this zap"}' },
    });
    const sent = await appTester(sendEvent.perform, {
      authData: authData(),
      inputData: { event_type: type, source: 'zapier-test', payload },
    });
    eventId = sent.id;
    const push = await hook.next((body) => body.id === eventId);
    pushed = JSON.parse(push.body);
    assert.equal(push.headers['webhook-id'], eventId);
    assert.ok(push.body.endsWith(`"data":${payload}}`), 'the payload is delivered as it was written');
    const performed = await appTester(newEvent.perform, bundle({ cleanedRequest: pushed }));
    assert.deepEqual(performed, [pushed]);
    assert.deepEqual(Object.keys(pushed).sort(), ['data', 'id', 'timestamp', 'type']);
    assert.ok(
      hook.caught.every((caught) => JSON.parse(caught.body).type === type),
      'events of other types are not pushed',
    );
  });

  it("the editor's samples have exactly the shape of the push", async () => {
    const samples = await appTester(newEvent.performList, bundle());
    assert.ok(samples.length >= 1);
    for (const sample of samples) {
      assert.deepEqual(Object.keys(sample).sort(), Object.keys(pushed).sort());
      assert.equal(sample.type, type);
    }
    const same = samples.find((sample) => sample.id === eventId);
    assert.deepEqual(same, pushed);
    report('flow', { event_id: eventId, pushed, sample: same, subscription_id: subscribeData.id });
  });

  it('with every type (*), samples include any type', async () => {
    const samples = await appTester(newEvent.performList, bundle({ inputData: {} }));
    const types = new Set(samples.map((sample) => sample.type));
    assert.ok(types.has(type) && types.has(other), [...types].join(', '));
  });

  it('turning the Zap off deletes the subscription, and again is harmless', async () => {
    const done = await appTester(newEvent.performUnsubscribe, bundle({ subscribeData }));
    assert.deepEqual(done, { id: subscribeData.id, unsubscribed: true });
    assert.equal((await api(`/v1/subscriptions/${subscribeData.id}`)).status, 404);
    const again = await appTester(newEvent.performUnsubscribe, bundle({ subscribeData }));
    assert.deepEqual(again, { id: subscribeData.id, unsubscribed: true });
  });

  it('a subscribe the API refuses says why', async () => {
    await assert.rejects(
      appTester(newEvent.performSubscribe, bundle({ inputData: { event_types: ['not a type!'] } })),
      (err) => {
        const { message, status } = appError(err);
        assert.equal(status, 422);
        assert.match(message, /event_types/);
        return true;
      },
    );
  });
});

describe('a Zap whose hook URL answered 410 Gone', { skip: NEEDS_STACK }, () => {
  it('is disabled by the fanout, and subscribing the hook URL again turns it back on', async () => {
    const hook = await startHookCatcher();
    const type = uniqueType('gone');
    const bundle = { authData: authData(), inputData: { event_types: [type] }, targetUrl: hook.url };
    try {
      // Given a subscription whose hook answered 410, which disables it at once
      const first = await appTester(newEvent.performSubscribe, bundle);
      hook.status = 410;
      await appTester(sendEvent.perform, { authData: authData(), inputData: { event_type: type, payload: '{}' } });
      await hook.next((body) => body.type === type);
      await waitFor(
        async () => (await api(`/v1/subscriptions/${first.id}`)).json.status === 'disabled',
        'the subscription to be disabled',
      );
      // When the Zap is turned on again with the same hook URL
      hook.status = 200;
      const again = await appTester(newEvent.performSubscribe, bundle);
      // Then it adopts the same subscription, active again, and the next event is pushed
      assert.equal(again.id, first.id);
      assert.equal(again.status, 'active');
      const sent = await appTester(sendEvent.perform, {
        authData: authData(),
        inputData: { event_type: type, payload: '{"n": 2}' },
      });
      await hook.next((body) => body.id === sent.id);
      await appTester(newEvent.performUnsubscribe, { ...bundle, subscribeData: again });
    } finally {
      await hook.close();
    }
  });
});
