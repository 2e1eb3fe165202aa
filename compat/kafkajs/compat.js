'use strict'
// KafkaJS scenarios against a running rill broker, driven by compat/test_kafkajs.py.
//
//   node compat.js <scenario> <bootstrap host:port> <topic> [args...]
//
// Each scenario asserts what it can see from KafkaJS (exit code 1 and a stack on
// failure) and prints one line `RESULT <json>` describing what it wrote, which the
// Python side then reads back with librdkafka and compares exactly.
// Records written by the producing scenarios are read back by the Python side with
// librdkafka; the `group` scenario consumes through a consumer group.
const assert = require('assert/strict')
const crypto = require('crypto')
const { Kafka, logLevel, Partitioners } = require('kafkajs')
const { byName, selfTest } = require('./codecs')

const [scenario, bootstrap, topic, ...args] = process.argv.slice(2)

const { logCreator } = require('./log')

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs',
    brokers: [bootstrap],
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 3, initialRetryTime: 100 },
    logLevel: logLevel.WARN,
    logCreator
  })
}

function newProducer (kafka, opts = {}) {
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...opts
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

async function waitFor (what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

const scenarios = {
  async selftest () {
    result({ codecs: await selfTest() })
  },

  async admin () {
    const admin = client().admin()
    await admin.connect()
    try {
      const [host, port] = [bootstrap.slice(0, bootstrap.lastIndexOf(':')), Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))]
      const cluster = await admin.describeCluster()
      assert.equal(cluster.brokers.length, 1, 'one broker')
      assert.equal(cluster.brokers[0].host, host)
      assert.equal(cluster.brokers[0].port, port)
      assert.equal(cluster.controller, cluster.brokers[0].nodeId, 'controller is the broker')
      assert.ok(cluster.clusterId, 'cluster id')

      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], timeout: 10000 }), true)
      // already exists: KafkaJS resolves false
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], timeout: 10000 }), false)
      let md = await admin.fetchTopicMetadata({ topics: [topic] })
      assert.equal(md.topics.length, 1)
      assert.deepEqual(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2])
      for (const p of md.topics[0].partitions) {
        assert.equal(p.leader, cluster.brokers[0].nodeId)
        assert.equal(p.partitionErrorCode, 0)
      }
      assert.ok((await admin.listTopics()).includes(topic), 'listTopics has the topic')

      await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] })
      md = await admin.fetchTopicMetadata({ topics: [topic] })
      assert.deepEqual(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2, 3, 4])

      await assert.rejects(
        admin.createTopics({ topics: [{ topic: topic + '-bad', numPartitions: 0, replicationFactor: 1 }], timeout: 10000 }),
        'numPartitions 0 is rejected'
      )

      const offsets = await admin.fetchTopicOffsets(topic)
      assert.equal(offsets.length, 5)
      for (const o of offsets) assert.deepEqual([o.low, o.high, o.offset], ['0', '0', '0'])

      await admin.deleteTopics({ topics: [topic], timeout: 10000 })
      await waitFor('topic to disappear', async () => !(await admin.listTopics()).includes(topic))
      result({ ok: true, clusterId: cluster.clusterId, nodeId: cluster.brokers[0].nodeId })
    } finally {
      await admin.disconnect()
    }
  },

  // produce <codec> <partitions> <count> <baseTimestamp>
  async produce () {
    const [codec, partitionsArg, countArg, baseTsArg] = args
    const partitions = Number(partitionsArg)
    const count = Number(countArg)
    const baseTs = Number(baseTsArg)
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], timeout: 10000 }), true)
    await admin.disconnect()

    const producer = newProducer(kafka)
    await producer.connect()
    const written = []
    try {
      // Two sends, so each partition gets at least two (compressed) batches.
      for (const half of [0, 1]) {
        const messages = []
        for (let i = half; i < count; i += 2) {
          const m = {
            partition: i % partitions,
            key: `kjs-${codec}-${i}`,
            value: `kafkajs ${codec} record ${i} ` + 'abcdefgh'.repeat(i % 9 + 1),
            headers: { idx: String(i), codec },
            timestamp: String(baseTs + i * 10)
          }
          if (i % 7 === 3) m.key = null
          if (i % 11 === 5) m.value = null
          messages.push(m)
        }
        const meta = await producer.send({ topic, acks: -1, compression: byName[codec], messages })
        const base = {}
        for (const r of meta) {
          assert.equal(r.errorCode, 0, `partition ${r.partition} error`)
          base[r.partition] = Number(r.baseOffset)
        }
        const seen = {}
        for (const m of messages) {
          const idx = seen[m.partition] || 0
          seen[m.partition] = idx + 1
          written.push({ ...m, offset: base[m.partition] + idx })
        }
      }
    } finally {
      await producer.disconnect()
    }
    result({ records: written })
  },

  // big <bytes>: a topic with max.message.bytes=2097152 created through KafkaJS, then one record of <bytes> random bytes
  async big () {
    const size = Number(args[0])
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    assert.equal(await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2097152' }] }],
      timeout: 10000
    }), true)
    await admin.disconnect()
    const producer = newProducer(kafka)
    await producer.connect()
    const value = crypto.randomBytes(size)
    const meta = await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: 'big', value }, { partition: 0, key: 'after', value: 'x' }] })
    await producer.disconnect()
    assert.equal(meta.length, 1)
    assert.equal(meta[0].baseOffset, '0')
    result({ sha256: crypto.createHash('sha256').update(value).digest('hex'), size })
  },

  // offsets <baseTimestamp>: one record per request (one batch each), then ListOffsets
  async offsets () {
    const baseTs = Number(args[0])
    const n = 6
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], timeout: 10000 }), true)
      const producer = newProducer(kafka)
      await producer.connect()
      for (let i = 0; i < n; i++) {
        const meta = await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: `k${i}`, value: `v${i}`, timestamp: String(baseTs + 1000 * i) }] })
        assert.equal(meta[0].baseOffset, String(i))
      }
      await producer.disconnect()

      const [o] = await admin.fetchTopicOffsets(topic)
      assert.deepEqual([o.partition, o.low, o.high, o.offset], [0, '0', String(n), String(n)])

      const byTs = async ts => (await admin.fetchTopicOffsetsByTimestamp(topic, ts))[0].offset
      const cases = [
        [baseTs - 100000, '0'],
        [baseTs, '0'],
        [baseTs + 1, '1'],
        [baseTs + 2000, '2'],
        [baseTs + 4999, '5'],
        [baseTs + 1000 * (n - 1), String(n - 1)],
        // past the end the broker answers -1, which KafkaJS turns into the high watermark
        [baseTs + 1000 * n, String(n)]
      ]
      const got = []
      for (const [ts, want] of cases) {
        const off = await byTs(ts)
        got.push([ts - baseTs, off])
        assert.equal(off, want, `fetchTopicOffsetsByTimestamp(base${ts - baseTs >= 0 ? '+' : ''}${ts - baseTs})`)
      }
      result({ cases: got })
    } finally {
      await admin.disconnect()
    }
  },

  // acks <acks> <count>
  async acks () {
    const acks = Number(args[0])
    const count = Number(args[1])
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], timeout: 10000 }), true)
    await admin.disconnect()
    const producer = newProducer(kafka)
    await producer.connect()
    const offsets = []
    for (let i = 0; i < count; i += 10) {
      const messages = []
      for (let j = i; j < Math.min(i + 10, count); j++) messages.push({ partition: 0, key: `k${j}`, value: `v${j}` })
      const meta = await producer.send({ topic, acks, messages })
      if (acks !== 0) {
        assert.equal(meta.length, 1)
        assert.equal(meta[0].errorCode, 0)
        offsets.push(Number(meta[0].baseOffset))
      }
    }
    await producer.disconnect()
    if (acks !== 0) assert.deepEqual(offsets, offsets.map((_, k) => k * 10), 'base offsets of consecutive sends')
    result({ count, offsets })
  },

  // idempotent <partitions> <sends> <perSend> <baseTimestamp> [pauseMs] [tag]: on an
  // existing topic, an idempotent producer (`idempotent: true`, everything else KafkaJS's default)
  // awaits <sends> sends one after the other, each with <perSend> records for every
  // partition 0..<partitions>-1, so each partition gets <sends> batches and its
  // sequence numbers advance over all of them. Prints `READY` once connected (so a
  // test can start another producer alongside) and pauses pauseMs between sends.
  async idempotent () {
    const [partitionsArg, sendsArg, perSendArg, baseTsArg, pauseArg, tagArg] = args
    const partitions = Number(partitionsArg)
    const sends = Number(sendsArg)
    const perSend = Number(perSendArg)
    const baseTs = Number(baseTsArg)
    const pauseMs = Number(pauseArg || 0)
    const tag = tagArg || 'kjs'
    const producer = newProducer(client(), { idempotent: true })
    await producer.connect()
    process.stdout.write('READY\n')
    const written = []
    const next = {}
    try {
      for (let s = 0; s < sends; s++) {
        const messages = []
        for (let j = 0; j < perSend; j++) {
          for (let p = 0; p < partitions; p++) {
            const i = (s * perSend + j) * partitions + p
            messages.push({
              partition: p,
              key: `${tag}-${p}-${s}-${j}`,
              value: `${tag} idempotent record ${i} send ${s} ` + 'xyz'.repeat(i % 5),
              headers: { send: String(s), tag },
              timestamp: String(baseTs + i)
            })
          }
        }
        const meta = await producer.send({ topic, messages })
        const base = {}
        for (const r of meta) {
          assert.equal(r.errorCode, 0, `partition ${r.partition} error`)
          base[r.partition] = Number(r.baseOffset)
        }
        const seen = {}
        for (const m of messages) {
          const idx = seen[m.partition] || 0
          seen[m.partition] = idx + 1
          const offset = base[m.partition] + idx
          if (next[m.partition] !== undefined) assert.ok(offset >= next[m.partition], `partition ${m.partition}: offset ${offset} went backwards`)
          next[m.partition] = offset + 1
          written.push({ ...m, offset })
        }
        if (pauseMs > 0) await new Promise(resolve => setTimeout(resolve, pauseMs))
      }
    } finally {
      await producer.disconnect()
    }
    result({ records: written })
  },

  // group <groupId> <members> <partitions> <expect> [settleMs]: <members> consumers in
  // one group read <topic> (a new group starts at the beginning) until <expect>
  // records arrived, then keep going for settleMs (to catch duplicates) and stop.
  // Every member pauses the topic whenever it (re)joins until the group is balanced
  // (assignments disjoint, non-empty, covering every partition), so no record is
  // read under an assignment that is about to move. Offsets are committed after
  // every batch (autoCommit) and when each member stops.
  async group () {
    const [groupId, membersArg, partitionsArg, expectArg, settleArg] = args
    const members = Number(membersArg)
    const partitions = Number(partitionsArg)
    const expect = Number(expectArg)
    const settleMs = Number(settleArg || 1500)
    const kafka = client()
    const consumers = []
    const latest = new Array(members).fill(null)
    const joins = new Array(members).fill(0)
    const got = []
    let released = false
    for (let i = 0; i < members; i++) {
      const c = kafka.consumer({
        groupId,
        sessionTimeout: 6000,
        heartbeatInterval: 300,
        rebalanceTimeout: 20000,
        maxWaitTimeInMs: 100,
        retry: { retries: 5, initialRetryTime: 100 }
      })
      c.on(c.events.GROUP_JOIN, e => {
        joins[i]++
        latest[i] = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
        if (!released) c.pause([{ topic }])
      })
      c.on(c.events.CRASH, e => process.stderr.write(`consumer ${i} crashed: ${e.payload.error && e.payload.error.stack}\n`))
      await c.connect()
      await c.subscribe({ topics: [topic], fromBeginning: true })
      consumers.push(c)
    }
    const t0 = Date.now()
    const running = consumers.map((c, i) => c.run({
      autoCommit: true,
      eachMessage: async ({ topic: t, partition, message }) => {
        assert.equal(t, topic)
        got.push({ member: i, partition, offset: Number(message.offset), value: message.value === null ? null : message.value.toString() })
      }
    }))
    await Promise.all(running)
    const balanced = () => {
      if (latest.some(a => a === null || a.length === 0)) return false
      const all = latest.flat()
      return all.length === partitions && new Set(all).size === partitions && all.every(p => p >= 0 && p < partitions)
    }
    await waitFor('a balanced group', async () => balanced(), 30000)
    const balancedAfterMs = Date.now() - t0
    assert.equal(got.length, 0, 'nothing consumed while paused')
    released = true
    for (const c of consumers) c.resume([{ topic }])
    await waitFor(`${expect} records`, async () => got.length >= expect, 60000)
    await new Promise(resolve => setTimeout(resolve, settleMs))
    const assignments = latest.map(a => a.slice())
    const joinsBeforeStop = joins.slice()
    for (const c of consumers) await c.disconnect()
    result({ records: got, assignments, joins: joinsBeforeStop, balancedAfterMs })
  }
}

async function main () {
  const fn = scenarios[scenario]
  if (!fn) throw new Error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`)
  await fn()
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write(`SCENARIO ${scenario} FAILED: ${err && err.stack ? err.stack : err}\n`)
    if (err && err.actual !== undefined) process.stderr.write(`actual=${JSON.stringify(err.actual)} expected=${JSON.stringify(err.expected)}\n`)
    process.exit(1)
  }
)
