// The child of bench/ipc.ts: the far end of the channel is Node's own (process.send and
// process.on('message')), the same whichever parent forked it, so only the parent differs.
// Control messages are objects; a payload is a string.

/** The payload this child sends when told ('go'), made beforehand so its making is not timed. */
let payload
/** What a payload from the parent gets back: itself ('echo', the round trip) or its length. */
let reply = 'length'

process.on('message', (m) => {
  if (typeof m === 'string') {
    process.send(reply === 'echo' ? m : m.length)
  } else if (m.make !== undefined) {
    payload = 'x'.repeat(m.make)
    // repeat() gives a rope: flattened now (a regexp reads the flat string), not by the timed
    // send. The parent flattens its own payloads so (bench/ipc.ts).
    ;/y/.test(payload)
    globalThis.gc()
    process.send('made')
  } else if (m.go) {
    const p = payload
    payload = undefined
    process.send(p)
  } else if (m.reply) {
    reply = m.reply
    globalThis.gc()
    process.send('set')
  }
})
