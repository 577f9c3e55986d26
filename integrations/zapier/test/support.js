'use strict';

// Helpers of the app's tests: the stack under test, a stand-in for Zapier's hook URL, a stub API
// for answers the local stack never gives (API Gateway's throttling), and the report file the
// pytest runner reads back.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

// The running Triggers API (`make up`, or the stack of tests/integration/test_zapier_app.py).
const stack = () => {
  const apiUrl = process.env.TRIGGERS_API_URL;
  const apiKey = process.env.TRIGGERS_API_KEY;
  return apiUrl && apiKey ? { apiUrl, apiKey } : null;
};

const NEEDS_STACK = stack() ? false : 'set TRIGGERS_API_URL and TRIGGERS_API_KEY to run against a stack';

const authData = (overrides = {}) => {
  const { apiUrl, apiKey } = stack();
  return { api_url: apiUrl, api_key: apiKey, ...overrides };
};

// A fresh event type, so that runs against a shared stack (`make up`) do not see each other.
const uniqueType = (name) => `zapier.test.${name}.${crypto.randomBytes(4).toString('hex')}`;

// The API called directly (not through the app), to check what the app did.
const api = async (path, { method = 'GET', body, headers = {} } = {}) => {
  const { apiUrl, apiKey } = stack();
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : null };
};

// What a z.errors.Error carries ({message, code, status}, as JSON in its message).
const appError = (err) => {
  try {
    return JSON.parse(err.message);
  } catch (_e) {
    return { message: err.message };
  }
};

const listen = (server) =>
  new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });

const readBody = (request) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

// Zapier's side of a REST hook: a URL that catches what the fanout POSTs and answers 200, or
// `status` when set (Zapier answers 410 Gone once the Zap is deleted).
const startHookCatcher = async () => {
  const caught = [];
  const waiting = [];
  const hook = { status: 200 };
  const server = http.createServer(async (request, response) => {
    const push = { headers: request.headers, body: await readBody(request) };
    caught.push(push);
    waiting.splice(0).forEach((wake) => wake());
    response.writeHead(hook.status, { 'content-type': 'application/json' });
    response.end(hook.status === 200 ? '{"status":"success"}' : '{"status":"gone"}');
  });
  const origin = await listen(server);
  return Object.assign(hook, {
    url: `${origin}/hooks/catch/123456/abcdef/`,
    caught,
    // The first push whose body satisfies `match`; rejects after `timeoutMs` (a failure, not a
    // measurement: the fanout batches for a second or so, more on a busy machine).
    async next(match, timeoutMs = 120000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = caught.find((push) => match(JSON.parse(push.body)));
        if (found) {
          return found;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`no matching push after ${timeoutMs} ms (${caught.length} caught)`);
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  });
};

// Polls `probe` until it returns something truthy; rejects after `timeoutMs` (a failure, not a
// measurement).
const waitFor = async (probe, what, timeoutMs = 120000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

// A stand-in API answering every request with `answer(request)` = {status, headers, body}; it
// records the requests it got.
const startStub = async (answer) => {
  const requests = [];
  const server = http.createServer(async (request, response) => {
    requests.push({ method: request.method, url: request.url, headers: request.headers, body: await readBody(request) });
    const { status, headers = {}, body = '' } = answer(request);
    response.writeHead(status, headers);
    response.end(body);
  });
  const url = await listen(server);
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
};

// Facts for tests/integration/test_zapier_app.py, which checks them against the API and the
// fanout's own envelope: `<name>.json` in the directory named by ZAPIER_TEST_REPORT.
const report = (name, facts) => {
  const dir = process.env.ZAPIER_TEST_REPORT;
  if (dir) {
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(facts));
  }
};

module.exports = {
  NEEDS_STACK,
  api,
  appError,
  authData,
  report,
  stack,
  startHookCatcher,
  startStub,
  uniqueType,
  waitFor,
};
