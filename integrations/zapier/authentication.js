'use strict';

const { DEFAULT_API_URL, apiBase } = require('./lib/api');

// GET /v1/me names the tenant and the key (its id and first characters, never the key): a 401
// means the key is wrong. The connection label shows the tenant, the key's hint (the same first
// characters `triggers keys ls` shows) and the API host, so two connections are told apart.
const test = async (z, bundle) => {
  const base = apiBase(z, bundle);
  const response = await z.request({ url: `${base}/v1/me` });
  const me = response.data;
  return { tenant_id: me.tenant_id, key_id: me.key_id, key_hint: me.key_hint, api_host: new URL(base).host };
};

const connectionLabel = (z, bundle) =>
  `${bundle.inputData.tenant_id} (${bundle.inputData.key_hint}…) @ ${bundle.inputData.api_host}`;

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
