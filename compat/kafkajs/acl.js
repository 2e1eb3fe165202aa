'use strict'
// KafkaJS's ACL admin calls and their enforcement on a rill broker started with
// `--authorizer acl --super-users admin` and a SASL_PLAINTEXT listener (PLAIN), driven by
// compat/test_acl.py.
//
//   node acl.js lifecycle <bootstrap host:port> <topic> <admin password> <user> <password>
//
// KafkaJS's defaults apart from `sasl`. As the super user: createTopics, then
// createAcls (WRITE on the topic for the user), describeAcls, deleteAcls. As the user:
// a producer refused before the ACL, a producer allowed after it, the same producer
// refused after the deletion. Prints one line `RESULT <json>`.
const {
  Kafka,
  logLevel,
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes
} = require('kafkajs')
const { logCreator } = require('./log')

const [scenario, bootstrap, topic, adminPassword, username, password] = process.argv.slice(2)

function client (user, pass) {
  return new Kafka({
    clientId: `rill-compat-kafkajs-acl-${user}`,
    brokers: [bootstrap],
    sasl: { mechanism: 'plain', username: user, password: pass },
    logLevel: logLevel.NOTHING,
    logCreator
  })
}

function result (obj) {
  process.stdout.write('RESULT ' + JSON.stringify(obj) + '\n')
}

// One send: null when it succeeded, else the error's name, type and message, and its
// cause's (KafkaJS's retrier wraps a non-retriable KafkaJSProtocolError in a
// KafkaJSNonRetriableError whose `cause` it is).
async function send (producer, value) {
  try {
    await producer.send({ topic, messages: [{ value }] })
    return null
  } catch (e) {
    const c = e.cause
    return {
      name: e.name,
      type: e.type || null,
      message: e.message,
      cause: c ? { name: c.name, type: c.type || null, message: c.message } : null
    }
  }
}

const scenarios = {
  async lifecycle () {
    const admin = client('admin', adminPassword).admin()
    await admin.connect()
    const user = client(username, password)
    const out = {}
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })

      const refused = user.producer()
      await refused.connect()
      out.before = await send(refused, 'before')
      await refused.disconnect()

      const acl = {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: topic,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        principal: `User:${username}`,
        host: '*',
        operation: AclOperationTypes.WRITE,
        permissionType: AclPermissionTypes.ALLOW
      }
      out.created = await admin.createAcls({ acl: [acl] })
      const described = await admin.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourceName: topic,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY
      })
      out.described = described.resources

      const producer = user.producer()
      await producer.connect()
      out.after = await send(producer, 'after')

      const deleted = await admin.deleteAcls({
        filters: [{
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: `User:${username}`,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY
        }]
      })
      out.deleted = deleted.filterResponses
      const left = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY
      })
      out.left = left.resources
      out.afterDelete = await send(producer, 'after-delete')
      await producer.disconnect()

      // What reached the topic: only the record sent while the ACL allowed it.
      const offsets = await admin.fetchTopicOffsets(topic)
      out.high = offsets.map(o => o.high)
    } finally {
      await admin.disconnect()
    }
    result(out)
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
