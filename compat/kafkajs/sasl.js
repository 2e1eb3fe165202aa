'use strict'
// KafkaJS over SASL_PLAINTEXT (or SASL_SSL, given a CA file) on a running rill broker,
// driven by compat/test_sasl.py and compat/test_tls.py.
//
//   node sasl.js roundtrip <bootstrap host:port> <topic> <mechanism> <user> <password> [ca.pem]
//   node sasl.js badauth   <bootstrap host:port> <topic> <mechanism> <user> <password> [ca.pem]
//
// KafkaJS's defaults apart from `sasl`. `roundtrip` produces five records and reads them
// back through a consumer group; `badauth` expects the producer's connect() to fail with
// KafkaJS's authentication error. Prints one line `RESULT <json>`.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')
const { logCreator } = require('./log')

const [scenario, bootstrap, topic, mechanism, username, password, ca] = process.argv.slice(2)

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs-sasl',
    brokers: [bootstrap],
    sasl: { mechanism, username, password },
    ssl: ca ? { ca: [fs.readFileSync(ca, 'utf8')] } : undefined,
    retry: { retries: 2, initialRetryTime: 100 },
    logLevel: logLevel.NOTHING,
    logCreator
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

const scenarios = {
  async roundtrip () {
    const kafka = client()
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    const values = [0, 1, 2, 3, 4].map(i => `${mechanism}-${i}`)
    await producer.send({ topic, messages: values.map(value => ({ value })) })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: `sasl-${topic}` })
    const got = []
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()) } })
    const deadline = Date.now() + 30000
    while (got.length < values.length && Date.now() < deadline) await sleep(100)
    await consumer.disconnect()
    result({ produced: values, consumed: got })
  },

  async badauth () {
    const producer = client().producer()
    try {
      await producer.connect()
    } catch (e) {
      result({ error: e.name, message: e.message })
      return
    }
    await producer.disconnect()
    result({ error: null })
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
