'use strict'
// Registers snappy, lz4 and zstd codecs with KafkaJS (it ships gzip only).
// All three are pure JavaScript / WebAssembly, so `npm ci` needs no native build:
//   snappy - kafkajs-snappy (snappyjs)
//   lz4    - lz4js, LZ4 frame format as Kafka uses for magic v2 batches
//   zstd   - @bokuweb/zstd-wasm (compress writes the content size in the frame
//            header; decompress of frames without it is not needed here since
//            this suite consumes with librdkafka)
const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4js = require('lz4js')
const zstd = require('@bokuweb/zstd-wasm')

const zstdReady = zstd.init()

const LZ4Codec = () => ({
  async compress (encoder) {
    return Buffer.from(lz4js.compress(encoder.buffer))
  },
  async decompress (buffer) {
    return Buffer.from(lz4js.decompress(buffer))
  }
})

const ZstdCodec = () => ({
  async compress (encoder) {
    await zstdReady
    return Buffer.from(zstd.compress(encoder.buffer, 3))
  },
  async decompress (buffer) {
    await zstdReady
    return Buffer.from(zstd.decompress(buffer))
  }
})

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = LZ4Codec
CompressionCodecs[CompressionTypes.ZSTD] = ZstdCodec

const byName = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD
}

// Round-trips each codec in-process; used by `node compat.js selftest`.
async function selfTest () {
  const data = Buffer.from('kafkajs codec self test '.repeat(200))
  const out = {}
  for (const name of ['gzip', 'snappy', 'lz4', 'zstd']) {
    const codec = CompressionCodecs[byName[name]]()
    const packed = await codec.compress({ buffer: data })
    const back = await codec.decompress(packed)
    if (!Buffer.from(back).equals(data)) throw new Error(`${name} round trip failed`)
    out[name] = packed.length
  }
  return out
}

module.exports = { byName, selfTest }
