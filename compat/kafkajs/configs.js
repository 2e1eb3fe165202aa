'use strict'
// KafkaJS admin.describeConfigs / admin.alterConfigs against a running rill broker,
// driven by compat/test_configs.py (the way compat/test_kafkajs.py drives compat.js).
//
//   node configs.js <scenario> <bootstrap host:port> <topic>
//
// Each scenario runs a fixed sequence of admin calls and prints one line
// `RESULT <json>` with what KafkaJS saw at every step (config entries, or the
// error KafkaJS raised); the Python side asserts on it. KafkaJS negotiates
// DescribeConfigs v2 and AlterConfigs v1 (its highest), with its default client
// settings. KafkaJS knows only the TOPIC and BROKER config resource types (no GROUP).
const assert = require('assert/strict')
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs')

const [scenario, bootstrap, topic] = process.argv.slice(2)

const { logCreator } = require('./log')

function client () {
  return new Kafka({
    clientId: 'rill-compat-kafkajs-configs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

// {name: {value, source, readOnly, isDefault, isSensitive, synonyms: [[name, value, source]]}}
function entries (resource) {
  const out = {}
  for (const e of resource.configEntries) {
    out[e.configName] = {
      value: e.configValue,
      source: e.configSource,
      readOnly: e.readOnly,
      isDefault: e.isDefault,
      isSensitive: e.isSensitive,
      synonyms: (e.configSynonyms || []).map(s => [s.configName, s.configValue, s.configSource])
    }
  }
  return out
}

async function describe (admin, type, name, { configNames, includeSynonyms = false } = {}) {
  const res = await admin.describeConfigs({ resources: [{ type, name, configNames }], includeSynonyms })
  assert.equal(res.resources.length, 1, 'one resource described')
  const r = res.resources[0]
  assert.equal(r.resourceName, name)
  assert.equal(r.resourceType, type)
  assert.equal(r.errorCode, 0)
  return entries(r)
}

// Runs fn; returns {ok: true} or the KafkaJS error's {error: {name, type, code}}.
async function attempt (fn) {
  try {
    await fn()
    return { ok: true }
  } catch (e) {
    return { error: { name: e.name, type: e.type, code: e.code, message: e.message } }
  }
}

async function alter (admin, type, name, configs, validateOnly = false) {
  const configEntries = Object.entries(configs).map(([k, v]) => ({ name: k, value: v }))
  return admin.alterConfigs({ validateOnly, resources: [{ type, name, configEntries }] })
}

const TOPIC = ConfigResourceTypes.TOPIC
const BROKER = ConfigResourceTypes.BROKER

const scenarios = {
  // Topic configs: create with configs, describe (plain and with synonyms),
  // validateOnly, AlterConfigs (replaces the whole set), errors.
  async topic (admin) {
    const out = {}
    out.created = await admin.createTopics({
      topics: [{
        topic,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'retention.ms', value: '3600000' }
        ]
      }],
      timeout: 10000
    })
    out.afterCreate = await describe(admin, TOPIC, topic)
    out.synonyms = await describe(admin, TOPIC, topic, {
      configNames: ['retention.ms', 'cleanup.policy', 'segment.bytes'],
      includeSynonyms: true
    })

    out.validateOnly = await attempt(() => alter(admin, TOPIC, topic, { 'max.message.bytes': '2000000' }, true))
    out.afterValidateOnly = await describe(admin, TOPIC, topic, { configNames: ['max.message.bytes', 'retention.ms', 'cleanup.policy'] })

    // AlterConfigs (not incremental): the given set replaces all of the topic's
    // dynamic configs, so cleanup.policy and retention.ms go back to defaults.
    const altered = await alter(admin, TOPIC, topic, { 'segment.bytes': '2000000', 'max.message.bytes': '500000' })
    out.alterResponse = altered.resources.map(r => ({ errorCode: r.errorCode, resourceName: r.resourceName, resourceType: r.resourceType }))
    out.afterAlter = await describe(admin, TOPIC, topic)

    out.invalidValue = await attempt(() => alter(admin, TOPIC, topic, { 'segment.bytes': 'abc' }))
    out.unknownName = await attempt(() => alter(admin, TOPIC, topic, { 'no.such.config': '1' }))
    out.afterRefused = await describe(admin, TOPIC, topic, { configNames: ['segment.bytes', 'max.message.bytes'] })

    const missing = `${topic}-missing`
    out.describeMissing = await attempt(() => describe(admin, TOPIC, missing))
    out.alterMissing = await attempt(() => alter(admin, TOPIC, missing, { 'retention.ms': '1000' }))
    out.topicsAfter = await admin.listTopics()
    return out
  },

  // Broker "1": describe, per-broker dynamic override seen from a topic,
  // read-only refusal, AlterConfigs with no entries resets the override.
  async broker (admin) {
    const out = {}
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], timeout: 10000 })
    out.broker = await describe(admin, BROKER, '1')
    out.brokerSynonyms = await describe(admin, BROKER, '1', { configNames: ['log.retention.hours', 'node.id'], includeSynonyms: true })

    out.setRetention = await attempt(() => alter(admin, BROKER, '1', { 'log.retention.ms': '900000' }))
    out.brokerAfterSet = await describe(admin, BROKER, '1', { configNames: ['log.retention.ms', 'log.retention.hours'] })
    out.topicAfterSet = await describe(admin, TOPIC, topic, { configNames: ['retention.ms'], includeSynonyms: true })

    out.readOnly = await attempt(() => alter(admin, BROKER, '1', { 'num.partitions': '5' }))
    out.topicAfterReadOnly = await describe(admin, TOPIC, topic, { configNames: ['retention.ms'] })

    out.reset = await attempt(() => alter(admin, BROKER, '1', {}))
    out.topicAfterReset = await describe(admin, TOPIC, topic, { configNames: ['retention.ms'] })
    out.brokerAfterReset = await describe(admin, BROKER, '1', { configNames: ['log.retention.ms'] })
    return out
  }
}

async function main () {
  const fn = scenarios[scenario]
  if (!fn) throw new Error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`)
  const admin = client().admin()
  await admin.connect()
  try {
    result(await fn(admin))
  } finally {
    await admin.disconnect()
  }
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write(`SCENARIO ${scenario} FAILED: ${err && err.stack ? err.stack : err}\n`)
    if (err && err.actual !== undefined) process.stderr.write(`actual=${JSON.stringify(err.actual)} expected=${JSON.stringify(err.expected)}\n`)
    process.exit(1)
  }
)
