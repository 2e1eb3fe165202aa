'use strict'
// KafkaJS transactional producers against a running rill broker, driven by
// compat/test_transactions.py (the way compat/test_kafkajs.py drives compat.js).
//
//   node txn.js <scenario> <bootstrap host:port> [args...]
//
// Each scenario asserts what KafkaJS itself sees (exit code 1 and a stack on
// failure) and prints one line `RESULT <json>` describing what it wrote; the Python
// side reads it back with librdkafka (read_committed and read_uncommitted) and
// checks exactly which records are visible. Scenarios that leave a transaction open
// print `OPEN <json>` and wait for a line on stdin (`commit` or `abort`).
//
// KafkaJS requires `idempotent: true` and `maxInFlightRequests: 1` for a
// transactional producer; everything else is KafkaJS's default.
const assert = require('assert/strict')
const readline = require('readline')
const { Kafka, logLevel, Partitioners } = require('kafkajs')

const [scenario, bootstrap, ...args] = process.argv.slice(2)

// KafkaJS logs go to stderr so stdout carries only the OPEN/RESULT lines.
const { logCreator } = require('./log')

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs-txn',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator
  })
}

function txnProducer (kafka, transactionalId) {
  return kafka.producer({
    transactionalId,
    maxInFlightRequests: 1,
    idempotent: true,
    // Only silences KafkaJS's warning about its v2.0 partitioner change; every
    // record here names its partition.
    createPartitioner: Partitioners.DefaultPartitioner
  })
}

function line (tag, obj) {
  process.stdout.write(`${tag} ${JSON.stringify(obj)}\n`)
}

// One line from stdin (the Python side's go-ahead).
function readCommand () {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin })
    rl.once('line', l => { resolve(l.trim()); rl.close() })
    rl.once('close', () => reject(new Error('stdin closed before a command arrived')))
  })
}

// Send `messages` (each with an explicit partition) through `sender` (a
// transaction) and return them with the offsets the broker assigned.
async function sendAll (sender, topic, messages) {
  const meta = await sender.send({ topic, messages })
  const base = {}
  for (const r of meta) {
    assert.equal(r.errorCode, 0, `partition ${r.partition} error ${r.errorCode}`)
    base[r.partition] = Number(r.baseOffset)
  }
  const seen = {}
  return messages.map(m => {
    const idx = seen[m.partition] || 0
    seen[m.partition] = idx + 1
    return { partition: m.partition, key: m.key, value: m.value, headers: m.headers, offset: base[m.partition] + idx }
  })
}

function records (tag, partitions, perPartition) {
  const out = []
  for (let j = 0; j < perPartition; j++) {
    for (let p = 0; p < partitions; p++) {
      out.push({
        partition: p,
        key: `${tag}-${p}-${j}`,
        value: `kafkajs ${tag} record ${j} of partition ${p}`,
        headers: { txn: tag }
      })
    }
  }
  return out
}

const scenarios = {
  // txn <topic> <partitions> <transactionalId> <groupId> <offsetsTopic>:
  //   "committed": a transaction over every partition that also commits offsets
  //     (offsetsTopic partition p -> 10 + p) for <groupId> with sendOffsets, committed;
  //   "aborted": records on every partition (acknowledged, so really written), aborted;
  //   "open": records on every partition, left open; prints OPEN and waits for
  //     `commit` or `abort` on stdin, then ends it that way.
  // RESULT: {txns: {committed, aborted, open: [records with offsets]}, openEndedBy}
  async txn () {
    const [topic, partitionsArg, transactionalId, groupId, offsetsTopic] = args
    const partitions = Number(partitionsArg)
    const producer = txnProducer(client(), transactionalId)
    await producer.connect()
    const txns = {}
    try {
      let t = await producer.transaction()
      txns.committed = await sendAll(t, topic, records('committed', partitions, 3))
      const offsets = [...Array(partitions).keys()].map(p => ({ partition: p, offset: String(10 + p) }))
      await t.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: offsetsTopic, partitions: offsets }] })
      await t.commit()
      assert.equal(t.isActive(), false)

      t = await producer.transaction()
      txns.aborted = await sendAll(t, topic, records('aborted', partitions, 2))
      await t.abort()

      t = await producer.transaction()
      txns.open = await sendAll(t, topic, records('open', partitions, 2))
      line('OPEN', { open: txns.open })
      const cmd = await readCommand()
      if (cmd === 'commit') await t.commit()
      else if (cmd === 'abort') await t.abort()
      else throw new Error(`unknown command ${cmd}`)
      line('RESULT', { txns, openEndedBy: cmd })
    } finally {
      await producer.disconnect()
    }
  },

  // ctp <inTopic> <outTopic> <groupId> <transactionalId> <expect>: consume-transform-
  // produce. A consumer in <groupId> (KafkaJS's default isolation: read_committed)
  // reads <inTopic>; for each batch one transaction writes every record to <outTopic>
  // (same partition and key, value upper-cased, header src=<partition>:<offset>) and
  // commits the batch's next offsets with sendOffsets, then commit. Stops once
  // <expect> input records were processed, then runs one more transaction that sends
  // offsets far past the end (1000 + partition) and is aborted.
  // RESULT: {processed: [{partition, offset}], batches}
  async ctp () {
    const [inTopic, outTopic, groupId, transactionalId, expectArg] = args
    const expect = Number(expectArg)
    const kafka = client()
    const producer = txnProducer(kafka, transactionalId)
    await producer.connect()
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topics: [inTopic], fromBeginning: true })
    const processed = []
    let batches = 0
    let failure = null
    try {
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          if (batch.messages.length === 0) return
          const t = await producer.transaction()
          try {
            const messages = batch.messages.map(m => ({
              partition: batch.partition,
              key: m.key,
              value: m.value.toString().toUpperCase(),
              headers: { src: `${batch.partition}:${m.offset}` }
            }))
            await t.send({ topic: outTopic, messages })
            const last = batch.messages[batch.messages.length - 1]
            const next = String(Number(last.offset) + 1)
            await t.sendOffsets({
              consumerGroupId: groupId,
              topics: [{ topic: inTopic, partitions: [{ partition: batch.partition, offset: next }] }]
            })
            await t.commit()
          } catch (e) {
            failure = failure || e
            if (t.isActive()) await t.abort()
            throw e
          }
          for (const m of batch.messages) {
            processed.push({ partition: batch.partition, offset: Number(m.offset) })
            resolveOffset(m.offset)
          }
          batches++
          await heartbeat()
        }
      })
      const deadline = Date.now() + 60000
      while (processed.length < expect && !failure) {
        if (Date.now() > deadline) throw new Error(`only ${processed.length} of ${expect} records processed`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      if (failure) throw failure
    } finally {
      await consumer.disconnect()
    }
    try {
      const t = await producer.transaction()
      const partitions = [...new Set(processed.map(r => r.partition))].sort((a, b) => a - b)
      const messages = partitions.map(p => ({ partition: p, key: 'aborted', value: 'ABORTED' }))
      await t.send({ topic: outTopic, messages })
      await t.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: inTopic, partitions: partitions.map(p => ({ partition: p, offset: String(1000 + p) })) }]
      })
      await t.abort()
    } finally {
      await producer.disconnect()
    }
    line('RESULT', { processed, batches })
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
