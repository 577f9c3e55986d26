'use strict';

const { apiBase, apiError } = require('./api');

// Every request to the API carries the key as a Bearer token; a request to any other origin
// never does.
const addApiKey = (request, z, bundle) => {
  const key = bundle.authData && bundle.authData.api_key;
  request.headers = request.headers || {};
  if (key && new URL(request.url).origin === new URL(apiBase(z, bundle)).origin) {
    request.headers.Authorization = `Bearer ${String(key).trim()}`;
  }
  if (!request.headers.Accept && !request.headers.accept) {
    request.headers.Accept = 'application/json, application/problem+json';
  }
  // 429 is turned into a ThrottledError by `raiseForApiErrors`, which also reads Retry-After dates.
  request.throwForThrottlingEarly = false;
  return request;
};

// Answers of 400 or more become Zapier errors that say what the API said. A request that sets
// `skipThrowForStatus` looks at the answer itself (e.g. a 404 on unsubscribe is not an error).
const raiseForApiErrors = (response, z) => {
  if (response.status >= 400 && !response.skipThrowForStatus) {
    throw apiError(z, response);
  }
  return response;
};

module.exports = { befores: [addApiKey], afters: [raiseForApiErrors] };
