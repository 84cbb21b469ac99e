// Preloaded into the Node peers (node --require): kinesis-local hard-codes 0.0.0.0 as its listen address and has no
// setting for it. This rewrites any wildcard listen address to 127.0.0.1, so every server in the benchmark is on
// loopback only (bench.py checks the bound addresses with `ss` after start).
'use strict';
const net = require('net');
const WILDCARD = new Set(['0.0.0.0', '::', '', undefined, null]);
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length > 0 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    if (WILDCARD.has(args[0].host)) args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string' || WILDCARD.has(args[1])) {
      const rest = typeof args[1] === 'string' || args[1] === undefined ? args.slice(2) : args.slice(1);
      args = [args[0], '127.0.0.1', ...rest];
    }
  }
  return listen.apply(this, args);
};
