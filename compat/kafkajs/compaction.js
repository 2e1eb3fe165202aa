'use strict'
// KafkaJS against a compacted topic on a running rill broker, driven by
// compat/test_compaction.py.
//
//   node compaction.js consume <bootstrap host:port> <topic> <groupId> <expect>
//
// A consumer group with KafkaJS's defaults (read_committed, auto commit) subscribed
// fromBeginning reads until <expect> records arrived, then half a second more (to
// catch duplicates), and prints one line `RESULT <json>`: every record (partition,
// offset, key and value as hex or null) and the group's committed offsets.
const { Kafka, logLevel } = require('kafkajs')

const [scenario, bootstrap, topic, ...args] = process.argv.slice(2)

const { logCreator } = require('./log')

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs-compaction',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const hex = b => (b === null || b === undefined ? null : b.toString('hex'))

async function waitFor (what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

const scenarios = {
  async consume () {
    const [groupId, expectArg] = args
    const expect = Number(expectArg)
    const kafka = client()
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    let crashed = null
    consumer.on(consumer.events.CRASH, e => { crashed = e.payload.error })
    const records = []
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ partition, offset: Number(message.offset), key: hex(message.key), value: hex(message.value) })
      }
    })
    await waitFor(`${expect} records (have ${records.length})`, async () => {
      if (crashed) throw crashed
      return records.length >= expect
    }, 30000)
    await sleep(500)
    await consumer.disconnect() // commits what was consumed
    const admin = kafka.admin()
    await admin.connect()
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
    await admin.disconnect()
    const committed = {}
    for (const p of offsets[0].partitions) committed[String(p.partition)] = p.offset
    result({ records, committed })
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
    process.exit(1)
  }
)
