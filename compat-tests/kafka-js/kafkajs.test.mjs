import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { startStrait } from '../js-support/strait.mjs';

let strait;
let kafka;
before(async () => {
  strait = await startStrait('strait-kafkajs-');
  kafka = new Kafka({ clientId: 'strait-compat', brokers: [strait.bootstrap], logLevel: logLevel.NOTHING });
});
after(async () => { await strait?.stop(); });

test('produce with gzip, consume in a group, commit, and read committed offsets', async () => {
  const topic = `kjs-${Date.now()}`;
  const groupId = `kjs-group-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}`, headers: { h: `x${i}` } }));
  const acks = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  assert.ok(acks.every((a) => a.errorCode === 0));
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.size} messages`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.set(message.value.toString(), message.headers.h.toString());
        if (seen.size === messages.length) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect(); // commits consumed offsets
  for (let i = 0; i < messages.length; i++) assert.equal(seen.get(`v${i}`), `x${i}`);

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
  assert.equal(committed, messages.length);
  const groups = await admin.listGroups();
  assert.ok(groups.groups.some((g) => g.groupId === groupId));
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});
