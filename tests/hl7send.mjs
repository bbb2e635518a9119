// hl7send.mjs sends HL7 v2 messages to an MLLP listener with the
// third-party client node-hl7-client and prints every acknowledgment.
//
// usage: node hl7send.mjs HOST PORT FILE
// FILE is JSON: an array of message strings (segments separated by \r).
// Output: one JSON line per message, {"i": n, "ack": "<ACK text>"}, in
// order; exit 0 when every message got an ACK, 1 otherwise.
import { readFileSync } from 'node:fs'
import { Client, Message } from 'node-hl7-client'

const [host, port, file] = process.argv.slice(2)
const messages = JSON.parse(readFileSync(file, 'utf8'))
const client = new Client({ host, connectionTimeout: 0 })
let resolveAck = null
const conn = client.createConnection({ port: Number(port), waitAck: true, maxConnections: 1 }, async (res) => {
  const r = resolveAck
  resolveAck = null
  if (r) r(res.getMessage().toString())
})

const timeout = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error('no ACK within ' + ms + ' ms')), ms))
let failed = 0
try {
  for (let i = 0; i < messages.length; i++) {
    const got = new Promise((resolve) => { resolveAck = resolve })
    await conn.sendMessage(new Message({ text: messages[i] }))
    try {
      const ack = await Promise.race([got, timeout(15000)])
      process.stdout.write(JSON.stringify({ i, ack }) + '\n')
    } catch (e) {
      failed++
      process.stdout.write(JSON.stringify({ i, error: String(e) }) + '\n')
    }
  }
} finally {
  await conn.close()
  client.closeAll?.()
}
process.exit(failed ? 1 : 0)
