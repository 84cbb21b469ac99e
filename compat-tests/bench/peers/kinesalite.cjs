// kinesalite's CLI has no host flag: start it on 127.0.0.1. Usage: node kinesalite.cjs PORT DATA_DIR
// Defaults are kinesalite's own except shardLimit (10 by default, below the shard counts the benchmark uses) and
// createStreamMs (500 ms of CREATING, which only delays setup).
'use strict';
const [port, dir] = process.argv.slice(2);
require('kinesalite')({ path: dir, shardLimit: 1000, createStreamMs: 50 }).listen(Number(port), '127.0.0.1', (err) => {
  if (err) throw err;
  console.log(`kinesalite listening on 127.0.0.1:${port}`);
});
