'use strict'
// KafkaJS and the log lifecycle (retention, DeleteRecords, record rules, topic
// compression.type) against a running rill broker, driven by
// compat/test_log_lifecycle.py.
//
//   node lifecycle.js <scenario> <bootstrap host:port> <topic> [args...]
//
// Each scenario prints one line `RESULT <json>` with what KafkaJS saw (offsets,
// records, or the error KafkaJS raised); the Python side asserts on it and
// cross-checks with librdkafka. KafkaJS keeps its default client settings, except
// for a short consumer fetch wait.
const assert = require('assert/strict')
const { Kafka, logLevel, Partitioners } = require('kafkajs')
require('./codecs') // registers snappy, lz4 and zstd: consumers must decode what the broker stored

const [scenario, bootstrap, topic, ...args] = process.argv.slice(2)

const { logCreator } = require('./log')

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs-lifecycle',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

// Runs fn; returns {ok: value} or the KafkaJS error as {error: {name, type, code, message}}:
// the broker's error, found through KafkaJS's wrappers (a retrier's `cause`, a
// KafkaJSDeleteTopicRecordsError's per-partition errors).
async function attempt (fn) {
  try {
    const value = await fn()
    return { ok: value === undefined ? true : value }
  } catch (e) {
    let inner = e
    for (let i = 0; i < 5; i++) {
      if (inner.partitions && inner.partitions.length) inner = inner.partitions[0].error
      else if (inner.cause && !inner.type) inner = inner.cause
      else break
    }
    return { error: { name: e.name, type: inner.type, code: inner.code, message: inner.message } }
  }
}

// [[partition, low, high]] sorted by partition, as numbers.
async function offsets (admin, t = topic) {
  const o = await admin.fetchTopicOffsets(t)
  return o.map(p => [p.partition, Number(p.low), Number(p.high)]).sort((a, b) => a[0] - b[0])
}

const scenarios = {
  // offsets: fetchTopicOffsets of <topic> (low and high watermark per partition).
  async offsets () {
    const admin = client().admin()
    await admin.connect()
    try {
      result({ offsets: await offsets(admin) })
    } finally {
      await admin.disconnect()
    }
  },

  // delete: a 1-partition topic with 20 records, then deleteTopicRecords to 5, to -1
  // (the high watermark), past the end, below the low watermark; a compacted topic
  // <topic>-compact refuses it.
  async delete () {
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const out = {}
    try {
      const compact = `${topic}-compact`
      assert.equal(await admin.createTopics({
        topics: [
          { topic, numPartitions: 1 },
          { topic: compact, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }
        ],
        timeout: 10000
      }), true)
      const messages = Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}` }))
      await producer.send({ topic, messages })
      await producer.send({ topic: compact, messages: messages.slice(0, 3) })
      out.before = await offsets(admin)

      out.to5 = await attempt(() => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] }))
      out.after5 = await offsets(admin)
      out.belowLow = await attempt(() => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] }))
      out.afterBelowLow = await offsets(admin)
      out.pastEnd = await attempt(() => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '21' }] }))
      out.afterPastEnd = await offsets(admin)
      out.toEnd = await attempt(() => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] }))
      out.afterEnd = await offsets(admin)

      const meta = await producer.send({ topic, messages: [{ partition: 0, key: 'after', value: 'after' }] })
      out.producedAfter = Number(meta[0].baseOffset)
      out.final = await offsets(admin)

      // KafkaJS's admin looks the leader up in the topics it has fetched metadata for.
      await offsets(admin, compact)
      out.compact = await attempt(() => admin.deleteTopicRecords({ topic: compact, partitions: [{ partition: 0, offset: '1' }] }))
      out.compactOffsets = await offsets(admin, compact)
    } finally {
      await producer.disconnect()
      await admin.disconnect()
    }
    result(out)
  },

  // rules: a keyless record to the compacted <topic>-compact (refused), a keyed one
  // (accepted); a record 2 h in the future to <topic> (refused), one 30 min ahead
  // (accepted). Topics are created by the Python side.
  async rules () {
    const producer = client().producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const now = Date.now()
    const send = (t, m) => attempt(async () => {
      const meta = await producer.send({ topic: t, messages: [{ partition: 0, ...m }] })
      return Number(meta[0].baseOffset)
    })
    const out = {}
    try {
      out.keyless = await send(`${topic}-compact`, { value: 'no key' })
      out.keyed = await send(`${topic}-compact`, { key: 'k', value: 'with key' })
      out.future = await send(topic, { key: 'f', value: 'future', timestamp: String(now + 2 * 3600 * 1000) })
      out.nearFuture = await send(topic, { key: 'n', value: 'near', timestamp: String(now + 30 * 60 * 1000) })
    } finally {
      await producer.disconnect()
    }
    result(out)
  },

  // consume <expect>: one group consumer reads <topic> from the beginning until
  // <expect> records arrived; prints them (strings; null stays null).
  async consume () {
    const expect = Number(args[0])
    const kafka = client()
    const consumer = kafka.consumer({ groupId: `lifecycle-${topic}`, maxWaitTimeInMs: 100 })
    const got = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      let failed = null
      consumer.on(consumer.events.CRASH, e => { failed = e.payload.error })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers = {}
          // KafkaJS turns repeated header keys into an array of values.
          const str = v => (v === null || v === undefined ? null : v.toString('hex'))
          for (const [k, v] of Object.entries(message.headers || {})) headers[k] = Array.isArray(v) ? v.map(str) : str(v)
          got.push({
            partition,
            offset: Number(message.offset),
            key: message.key === null ? null : message.key.toString('hex'),
            value: message.value === null ? null : message.value.toString('hex'),
            headers,
            timestamp: Number(message.timestamp)
          })
        }
      })
      const deadline = Date.now() + 30000
      while (got.length < expect) {
        if (failed) throw failed
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${expect} records within 30 s`)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    } finally {
      await consumer.disconnect()
    }
    result({ records: got })
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
