// The web console against what real clients see: kafkajs makes a topic with keyed records carrying headers and a
// consumer group that commits part of them; the AWS SDK for JavaScript v3 makes a Kinesis stream, puts records,
// splits a shard and registers an enhanced fan-out consumer. Headless Chromium then opens each console page and
// the test compares what the page shows with the clients' own answers. Screenshots go to docs/console/.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, PutRecordCommand,
  RegisterStreamConsumerCommand, SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { Kafka, logLevel } from 'kafkajs';
import { chromium } from 'playwright-core';
import { startStrait } from '../js-support/strait.mjs';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'console');
const TOPIC = 'orders';
const GROUP = 'billing';
const STREAM = 'clicks';
const CLIENT_ID = 'console-test';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let strait; let kafka; let admin; let consumer; let kinesis; let context; let page; let profile;
const special = { key: 'customer-42', value: 'order #42: 3 × widgets', headers: { trace: 'abc-123', source: 'web' } };
let specialAt; // { partition, offset }
let put; // PutRecord's answer for the record checked in the browser
let navigations = 0;

/** The topics kafkajs lists, less Kafka's internal ones (`__consumer_offsets`): the Kafka front end synthesizes
 * those (offsets live in the metadata store), they are not stored topics, and the console does not list them. */
async function clientTopics() {
  return (await admin.listTopics()).filter((t) => !t.startsWith('__'));
}

async function waitActive() {
  for (let i = 0; i < 200; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    if (s.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`stream ${STREAM} did not become ACTIVE`);
}

before(async () => {
  strait = await startStrait('strait-console-');
  kafka = new Kafka({ clientId: CLIENT_ID, brokers: [strait.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}`, headers: { n: `${i}` } }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
  const [ack] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ ...special, partition: 1 }] });
  specialAt = { partition: ack.partition, offset: Number(ack.baseOffset) };
  await producer.disconnect();

  // A live member that has read everything but committed only about half of each partition.
  const highs = await admin.fetchTopicOffsets(TOPIC);
  const total = highs.reduce((n, p) => n + Number(p.high), 0);
  consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${seen} of ${total}`)), 30000);
    consumer.run({ autoCommit: false, eachMessage: async () => { if (++seen === total) { clearTimeout(timer); resolve(); } } }).catch(reject);
  });
  await consumer.commitOffsets(highs.map((p) => ({ topic: TOPIC, partition: p.partition, offset: String(Math.floor(Number(p.high) / 2)) })));

  kinesis = new KinesisClient({ endpoint: strait.aws, region: 'us-east-1', credentials: { accessKeyId: 'dev', secretAccessKey: 'dev' } });
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  await waitActive();
  for (let i = 0; i < 5; i++) {
    const r = await kinesis.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: `user-${i}`, Data: Buffer.from(`click ${i}`) }));
    if (i === 3) put = { ...r, key: `user-${i}`, data: `click ${i}` };
  }
  await kinesis.send(new SplitShardCommand({ StreamName: STREAM, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
  await waitActive();
  for (let i = 5; i < 9; i++) {
    await kinesis.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: `user-${i}`, Data: Buffer.from(`click ${i}`) }));
  }
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
  await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: summary.StreamDescriptionSummary.StreamARN, ConsumerName: 'dashboard' }));

  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'strait-console-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 860 },
  });
  page = context.pages()[0] || await context.newPage();
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await consumer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  kinesis?.destroy();
  await strait?.stop();
});

/** Opens a console route in a fresh load of the page and waits until it has rendered. */
async function open(route) {
  await page.goto(`${strait.admin}/?load=${navigations++}#${route}`);
  await page.waitForSelector('#app[data-ready]');
  const error = await page.$('[data-testid=error]');
  assert.equal(error && await error.textContent(), null, `the page ${route} shows an error`);
}
const texts = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('topics list partitions and Kinesis streams as the clients see them', async () => {
  await open('/topics');
  const meta = await admin.fetchTopicMetadata({ topics: await clientTopics() });
  assert.equal(await page.$$eval('[data-testid=topics] tbody tr', (els) => els.length), meta.topics.length);
  for (const t of meta.topics) {
    const row = `tr[data-topic="${t.name}"]`;
    assert.deepEqual(await texts(`${row} [data-testid=partitions]`), [String(t.partitions.length)], t.name);
    assert.deepEqual(await texts(`${row} [data-testid=kinesis]`), [t.name === STREAM ? 'stream' : ''], t.name);
  }
  const highs = await admin.fetchTopicOffsets(TOPIC);
  const records = highs.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  assert.deepEqual(await texts(`tr[data-topic="${TOPIC}"] [data-testid=records]`), [String(records)]);
  await shot('topics');
});

test('a topic page shows each partition\'s offsets and the topic\'s config overrides', async () => {
  await open(`/topic/${TOPIC}`);
  for (const p of await admin.fetchTopicOffsets(TOPIC)) {
    const row = `[data-testid=partitions] tr[data-partition="${p.partition}"]`;
    assert.deepEqual(await texts(`${row} [data-testid=high-watermark]`), [String(p.high)]);
    assert.deepEqual(await texts(`${row} [data-testid=log-start]`), [String(p.low)]);
  }
  assert.equal(await page.$eval('tr.override[data-config="retention.ms"] td:nth-child(2)', (e) => e.textContent), '86400000');
  await shot('topic');
});

test('a stream page shows the shards, their lineage and the EFO consumers as ListShards and ListStreamConsumers do', async () => {
  await open(`/topic/${STREAM}`);
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
  assert.equal(Shards.length, 3);
  const rows = await page.$$eval('[data-testid=shard-row]', (els) => els.map((e) => ({
    id: e.dataset.shardId, parent: e.dataset.parent || undefined, adjacent: e.dataset.adjacentParent || undefined,
  })));
  const expected = Shards.map((s) => ({ id: s.ShardId, parent: s.ParentShardId, adjacent: s.AdjacentParentShardId }));
  const byId = (a, b) => a.id.localeCompare(b.id);
  assert.deepEqual([...rows].sort(byId), [...expected].sort(byId));
  // The tree: the parent first, its children after it.
  assert.equal(rows[0].id, 'shardId-000000000000');
  assert.deepEqual(await texts('[data-testid=efo-consumers] [data-testid=consumer-name]'), ['dashboard']);
  await shot('stream');
});

test('the group page shows members and, per partition, the lag the Kafka admin client computes', async () => {
  await open('/groups');
  assert.deepEqual(await texts(`tr[data-group="${GROUP}"] [data-testid=members]`), ['1']);
  await open(`/group/${GROUP}`);
  assert.deepEqual(await texts('[data-testid=client-id]'), [CLIENT_ID]);
  assert.match((await texts('[data-testid=assignment]'))[0], new RegExp(`^${TOPIC}\\[0,1,2\\]$`));
  const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  const highs = new Map((await admin.fetchTopicOffsets(TOPIC)).map((p) => [p.partition, Number(p.high)]));
  for (const p of committed.partitions) {
    const row = `[data-testid=offsets] tr[data-partition="${p.partition}"]`;
    assert.deepEqual(await texts(`${row} [data-testid=committed]`), [String(p.offset)]);
    const lag = highs.get(p.partition) - Number(p.offset);
    assert.ok(lag > 0, 'the group committed only part of each partition');
    assert.deepEqual(await texts(`${row} [data-testid=lag]`), [String(lag)]);
  }
  await shot('group');
});

test('the record browser shows a Kafka record\'s key, headers and value at its offset', async () => {
  await open(`/records?topic=${TOPIC}&partition=${specialAt.partition}&mode=offset&value=${specialAt.offset}&limit=5`);
  const row = `[data-testid=records] tr[data-offset="${specialAt.offset}"]`;
  assert.deepEqual(await texts(`${row} [data-testid=key]`), [special.key]);
  assert.deepEqual(await texts(`${row} [data-testid=value]`), [special.value]);
  const headers = await page.$$eval(`${row} [data-testid=headers] div`, (els) => els.map((e) => e.textContent));
  assert.deepEqual(headers.sort(), Object.entries(special.headers).map(([k, v]) => `${k}=${v}`).sort());
  await shot('records');
});

test('the record browser finds a Kinesis record by its sequence number and shows its PartitionKey', async () => {
  assert.equal(put.ShardId, 'shardId-000000000000');
  await open(`/records?topic=${STREAM}&partition=0&mode=sequence&value=${put.SequenceNumber}&limit=5`);
  const first = '[data-testid=records] tbody tr:first-child';
  assert.deepEqual(await texts(`${first} [data-testid=sequence-number]`), [put.SequenceNumber]);
  assert.deepEqual(await texts(`${first} [data-testid=partition-key]`), [put.key]);
  assert.deepEqual(await texts(`${first} [data-testid=value]`), [put.data]);
  await shot('records-kinesis');
});

test('the JSON endpoints answer errors as JSON with status codes', async () => {
  const get = (p) => fetch(`${strait.admin}${p}`);
  let r = await get('/api/records?topic=nope&partition=0');
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.code, 'NotFound');
  r = await get(`/api/records?topic=${TOPIC}`);
  assert.equal(r.status, 400);
  r = await get(`/api/records?topic=${TOPIC}&partition=0&sequence=123`);
  assert.equal(r.status, 400);
  r = await get('/api/groups/no-such-group');
  assert.equal(r.status, 404);
  r = await fetch(`${strait.admin}/api/topics`, { method: 'DELETE' });
  assert.equal(r.status, 405);
  const t = await (await get('/api/throughput')).json();
  const orders = t.topics.find((x) => x.topic === TOPIC);
  const highs = await admin.fetchTopicOffsets(TOPIC);
  assert.equal(orders.records_in, highs.reduce((n, p) => n + Number(p.high), 0));
  assert.ok(orders.records_out > 0);
});

test('the overview shows health, listeners, counts and throughput sampled while a producer runs', async () => {
  const producer = kafka.producer();
  await producer.connect();
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: 5 + (i % 7) * 3 }, (_, j) => ({ key: `k${j}`, value: `live ${i}/${j}` })) });
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  try {
    await open('/');
    assert.deepEqual(await texts('[data-testid=health]'), ['ready']);
    assert.equal((await texts('[data-testid=health-text]'))[0], (await (await fetch(`${strait.admin}/healthz`)).text()).trim());
    const topics = await clientTopics();
    const meta = await admin.fetchTopicMetadata({ topics });
    assert.deepEqual(await texts('[data-testid=topic-count]'), [String(topics.length)]);
    assert.deepEqual(await texts('[data-testid=partition-count]'), [String(meta.topics.reduce((n, t) => n + t.partitions.length, 0))]);
    assert.deepEqual(await texts('[data-testid=stream-count]'), ['1']);
    const listeners = await texts('[data-testid=listeners] tbody tr td:nth-child(2)');
    assert.deepEqual(listeners, [strait.bootstrap, strait.aws.replace('http://', ''), strait.admin.replace('http://', '')]);
    // Rates appear once two samples are in; wait for a few so the sparkline has a shape.
    await page.waitForFunction((t) => /[1-9][0-9.]* in/.test(document.querySelector(`[data-spark="${t}"]`)?.textContent || ''), TOPIC, { timeout: 15000 });
    await new Promise((r) => setTimeout(r, 7000));
    await shot('overview');
  } finally {
    stop = true;
    await load;
    await producer.disconnect();
  }
});
