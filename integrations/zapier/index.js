'use strict';

const authentication = require('./authentication');
const { befores, afters } = require('./lib/middleware');
const newEvent = require('./triggers/new_event');
const sendEvent = require('./creates/send_event');

module.exports = {
  version: require('./package.json').version,
  platformVersion: require('zapier-platform-core').version,

  authentication,
  beforeRequest: [...befores],
  afterResponse: [...afters],

  triggers: { [newEvent.key]: newEvent },
  searches: {},
  creates: { [sendEvent.key]: sendEvent },
  resources: {},
};
