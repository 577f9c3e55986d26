'use strict';

const { DEFAULT_API_URL, apiBase } = require('./lib/api');

// GET /v1/events?limit=1 is the cheapest authenticated read: a 401 means the key is wrong.
// The API has no route that names the caller's tenant, so the label shows the key's hint (the
// same first characters `triggers keys ls` shows) and the API host.
const test = async (z, bundle) => {
  const base = apiBase(z, bundle);
  await z.request({ url: `${base}/v1/events`, params: { limit: 1 } });
  const key = String(bundle.authData.api_key || '').trim();
  return { key_hint: key.slice(0, 8), api_host: new URL(base).host };
};

const connectionLabel = (z, bundle) => `${bundle.inputData.key_hint}… @ ${bundle.inputData.api_host}`;

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'api_url',
      label: 'API URL',
      type: 'string',
      required: true,
      default: DEFAULT_API_URL,
      helpText:
        'The base URL of your deployed Triggers API (the `ApiUrl` output of `sam deploy`), e.g. ' +
        '`https://abc123.execute-api.eu-west-1.amazonaws.com`. Must be https; ' +
        '`http://127.0.0.1:3000` is the local stack of `make up`.',
    },
    {
      key: 'api_key',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText: 'A Triggers API key (`trg_…`), created with `triggers keys create --tenant <tenant>`.',
    },
  ],
  test,
  connectionLabel,
};
