// Shared by the KafkaJS compat scripts: KafkaJS logs go to stderr, so stdout carries
// only the RESULT line the Python side reads.
const logCreator = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
}

module.exports = { logCreator }
