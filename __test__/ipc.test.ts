// The channel's decoding, side by side with child_process's: the same bytes reach a parent of
// node:child_process's fork and one of the package's, cut where a decoder can go wrong — a UTF-8
// character split across reads, '\n' first or last in a read, several messages in one read, a
// frame's 4-byte length split across reads, a message spread over many reads — and big messages
// (megabytes, many reads each) go both ways in both serializations. Real processes: the cut
// stream is written by a Python child (fork's execPath) that writes each piece only once the
// parent has read the one before it, so each piece is a read of its own at the parent.

import * as cp from 'node:child_process'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as net from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { text } from 'node:stream/consumers'
import { MessageChannel } from 'node:worker_threads'
import test, { type ExecutionContext } from 'ava'

import * as pidfd from '../index.js'
import { runsIf, tempDir, within } from './helpers.js'

const dir = tempDir('pidfd-ipc-')
function file(name: string, contents: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, contents)
  return path
}

// Writes a file's bytes to its channel (NODE_CHANNEL_FD) in pieces, cut at the given offsets. A
// piece goes only once the parent has read all of the one before: the socket's send queue
// (SIOCOUTQ, which counts what the reader has not yet taken) is empty. The kernel tells no one
// when that happens, so it is polled; what it waits for is the parent's read, not a time.
const writer = file(
  'writer.py',
  `import fcntl, os, struct, sys, termios, time
fd = int(os.environ['NODE_CHANNEL_FD'])
data = open(sys.argv[1], 'rb').read()
cuts = [int(c) for c in sys.argv[2].split(',') if c]
start = 0
for end in cuts + [len(data)]:
    piece = memoryview(data)[start:end]
    while piece:
        piece = piece[os.write(fd, piece):]
    deadline = time.monotonic() + 30
    while struct.unpack('i', fcntl.ioctl(fd, termios.TIOCOUTQ, bytes(4)))[0] > 0:
        if time.monotonic() > deadline:
            sys.exit('the parent never read piece ending at %d' % end)
        time.sleep(0.0002)
    start = end
`,
)

type Fork = typeof cp.fork
const forks: Array<[string, Fork]> = [
  ['child_process', cp.fork],
  ['pidfd', pidfd.fork as unknown as Fork],
]
type Mode = 'json' | 'advanced'

/** A message's bytes on the channel, framed as child_process frames it. */
function frame(mode: Mode, message: unknown): Buffer {
  if (mode === 'json') return Buffer.from(`${JSON.stringify(message)}\n`)
  // v8.serialize is child_process's serialization for values without host objects.
  const body = serialize(message)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  return Buffer.concat([length, body])
}

/** Where a piece ends: in `message` (its index), `at` bytes into its frame; and why there. */
interface Cut {
  message: number
  at: number
  why: string
}

/**
 * The messages a parent gets from a child writing `messages`' frames in pieces cut at `cuts`,
 * with the child's exit code, until 'close'.
 */
async function receive(fork: Fork, mode: Mode, messages: unknown[], cuts: Cut[]): Promise<{ got: unknown[]; code: number | null }> {
  const frames = messages.map((m) => frame(mode, m))
  const starts: number[] = []
  let offset = 0
  for (const f of frames) {
    starts.push(offset)
    offset += f.length
  }
  const offsets = cuts.map((c) => {
    if (c.at > frames[c.message]!.length) throw new Error(`cut past its message: ${c.why}`)
    return starts[c.message]! + c.at
  })
  const stream = file(`stream-${mode}`, Buffer.concat(frames))
  const child = fork(stream, [offsets.join(',')], { execPath: 'python3', execArgv: [writer], serialization: mode, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const got: unknown[] = []
  child.on('message', (m) => got.push(m))
  // A frame that does not decode: an 'error' here (the package's channel), in the list, so a
  // decoder gone wrong fails the comparison rather than the test process.
  child.on('error', (err) => got.push(`error: ${err.message}`))
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  return { got, code }
}

/**
 * The messages both parents get from the cut stream: child_process's are the messages sent (the
 * stream is right), and the package's are child_process's. Then the writer's exit: 0 once the
 * parent read every piece.
 */
async function sideBySide(t: ExecutionContext, mode: Mode, messages: unknown[], cuts: Cut[]): Promise<void> {
  const results: Array<{ got: unknown[]; code: number | null }> = []
  for (const [, fork] of forks) results.push(await receive(fork, mode, messages, cuts))
  const [node, ours] = results as [{ got: unknown[]; code: number | null }, { got: unknown[]; code: number | null }]
  t.deepEqual(node.got, messages.map((m) => after(mode, m)), 'child_process gets the messages: the stream is right')
  t.deepEqual(ours.got, node.got)
  t.deepEqual([node.code, ours.code], [0, 0], 'the writer ran to its end')
}

/** What a message is after the trip: JSON's copy of it in json mode, v8's in advanced (a Buffer, say, comes back a Uint8Array). */
const after = (mode: Mode, m: unknown): unknown => (mode === 'json' ? JSON.parse(JSON.stringify(m)) : deserialize(serialize(m)))

test('json: messages cut mid-character, around their newline, several to a read and over many reads arrive whole and in order, as with child_process', async (t) => {
  // '€' is 3 bytes in UTF-8, '😀' 4; a json frame starts with '"' for a string.
  const messages: unknown[] = [
    'first',
    '€uro',
    'x€',
    '😀 grin',
    { n: 1, s: 'ñ' },
    'newline next',
    'a',
    ['b', 2],
    { c: null },
    'ünïcödé '.repeat(20),
    'after the boundary',
    '€'.repeat(30_000),
    'end',
  ]
  const cuts: Cut[] = [
    { message: 1, at: 0, why: "'\\n' last in a read (a read ends with a message)" },
    { message: 1, at: 2, why: "'€' split after its first byte" },
    { message: 2, at: 4, why: "'€' split after its second byte" },
    { message: 3, at: 2, why: "'😀' split after one byte" },
    { message: 3, at: 3, why: "'😀' split after two bytes (a read of one byte, no newline)" },
    { message: 3, at: 4, why: "'😀' split after three bytes (a read of one byte, no newline)" },
    { message: 5, at: frame('json', messages[5]).length - 1, why: "'\\n' first in a read" },
    { message: 9, at: 5, why: 'several messages in one read, the last one begun' },
    { message: 9, at: 60, why: 'a message over three reads, the middle one with no newline' },
    { message: 9, at: 122, why: "a message over three reads, cut mid-'ü'" },
    { message: 10, at: 0, why: 'a read that ends a message and nothing more' },
    { message: 11, at: 1, why: 'a message of 90 KB over three reads, the first holding only its opening quote' },
    { message: 11, at: 45_002, why: "mid-'€', in the middle of a long message" },
  ]
  await sideBySide(t, 'json', messages, cuts)
})

test("advanced: frames whose 4-byte length is split across reads, cut mid-body, several to a read and over many reads arrive whole and in order, as with child_process", async (t) => {
  const messages: unknown[] = [
    'first',
    'second',
    'third',
    'fourth',
    new Map<unknown, unknown>([['k', [1, 2n ** 70n]], [2, new Set(['v'])]]),
    { date: new Date(0), re: /x/g },
    'a',
    ['b', 2],
    'ünïcödé '.repeat(20),
    'after the boundary',
    'x'.repeat(200_000),
    'end',
  ]
  const cuts: Cut[] = [
    { message: 1, at: 1, why: 'the length split 1 | 3' },
    { message: 2, at: 2, why: 'the length split 2 | 2' },
    { message: 3, at: 3, why: 'the length split 3 | 1' },
    { message: 4, at: 1, why: 'the length split 1 | 1 | 2, first' },
    { message: 4, at: 2, why: 'the length split 1 | 1 | 2, second (a read of one byte)' },
    { message: 5, at: 4, why: 'a read that ends with the length, no body' },
    { message: 5, at: 9, why: 'a body split' },
    { message: 8, at: 2, why: 'several frames in one read, the last one begun in its length' },
    { message: 8, at: 50, why: 'a frame over three reads, the middle one in its body' },
    { message: 9, at: 0, why: 'a read that ends a frame and nothing more' },
    { message: 10, at: 4, why: 'a frame of 200 KB over many reads, the first ending just after its length' },
    { message: 10, at: 100_000, why: 'the middle of a long frame' },
  ]
  await sideBySide(t, 'advanced', messages, cuts)
})

/**
 * Messages of megabytes, each many reads long, sent back to back so that one's end and the next
 * one's start share reads: UTF-8 of one, two, three and four bytes a character (the reads, 64
 * KiB, then end mid-character), and in advanced mode a Buffer and a typed array too. A module
 * of its own, so that the child and this test make the same ones.
 */
const bigModule = file(
  'big.cjs',
  `exports.bigMessages = (mode) => {
  const list = ['x'.repeat(6_000_000), 'aé€😀'.repeat(400_000), { list: Array.from({ length: 20_000 }, (_, i) => ({ i, s: 'é'.repeat(i % 7) })) }, 'after']
  if (mode === 'advanced') {
    const bytes = Buffer.alloc(5_000_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251
    list.push(bytes, new Float64Array(700_000).map((_, i) => i / 3), new Map([['big', 'y'.repeat(3_000_000)]]))
  }
  return list
}
`,
)
const { bigMessages } = createRequire(import.meta.url)(bigModule) as { bigMessages: (mode: Mode) => unknown[] }
// Sends the big messages when asked ('send'), echoes any other message, and leaves when told.
const bigSender = file(
  'big.js',
  `const { bigMessages } = require(${JSON.stringify(bigModule)})
process.on('message', (m) => {
  if (m === 'exit') return process.disconnect()
  if (m === 'send') return bigMessages(process.argv[2]).forEach((b) => process.send(b))
  process.send(m)
})
`,
)

/**
 * A typed array as its class and a digest of its bytes: ava compares megabytes of them element
 * by element, for many seconds.
 */
function comparable(m: unknown): unknown {
  if (!ArrayBuffer.isView(m)) return m
  const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength)
  return `${m.constructor.name} of ${m.byteLength} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`
}

for (const mode of ['json', 'advanced'] as const) {
  test(`${mode}: messages of megabytes, child to parent and a round trip from the parent, arrive whole and in order, as with child_process`, async (t) => {
    const expected = bigMessages(mode).map((m) => after(mode, m))
    const results: Array<{ sent: unknown[]; echoed: unknown[] }> = []
    for (const [, fork] of forks) {
      const child = fork(bigSender, [mode], { serialization: mode })
      const got: unknown[] = []
      child.on('message', (m) => got.push(m))
      child.on('error', (err) => got.push(`error: ${err.message}`))
      const closed = new Promise((resolve) => child.on('close', resolve))
      /** Until `n` messages are in, or the child is gone (a frame it could not read kills it). */
      const count = (n: number) =>
        Promise.race([
          closed,
          new Promise<void>((resolve) => {
            const check = () => {
              if (got.length < n) return
              child.off('message', check)
              resolve()
            }
            child.on('message', check)
          }),
        ])
      // Child → parent: the child's own messages.
      let done = count(expected.length)
      child.send('send')
      await done
      const sent = got.splice(0)
      // Parent → child → parent: ours, back to back, echoed.
      done = count(expected.length)
      for (const m of bigMessages(mode)) child.send(m as object)
      await done
      const echoed = got.splice(0)
      if (child.connected) child.send('exit')
      await closed
      results.push({ sent, echoed })
    }
    const [node, ours] = results.map(({ sent, echoed }) => ({ sent: sent.map(comparable), echoed: echoed.map(comparable) }))
    const want = expected.map(comparable)
    t.deepEqual(node!.sent, want, 'child_process gets them')
    t.deepEqual(ours!.sent, node!.sent)
    t.deepEqual(ours!.echoed, node!.echoed)
    t.deepEqual(ours!.echoed, want)
  })
}

for (const mode of ['json', 'advanced'] as const) {
  test(`${mode}: send() says false once as many bytes wait to be written as child_process lets wait (its high-water mark, 128 KiB)`, (t) => {
    // A child that never reads its end: what the socket buffer cannot take waits here. Both
    // parents send the same 1 KB messages until send() says false.
    const counts: Record<string, number> = {}
    for (const [name, spawn] of [['child_process', cp.spawn], ['pidfd', pidfd.spawn]] as const) {
      const sub = spawn('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: mode })
      let n = 0
      while (sub.send('x'.repeat(1000)) && n < 10_000) n++
      counts[name] = n
      sub.kill('SIGKILL')
    }
    t.is(counts.pidfd, counts.child_process, JSON.stringify(counts))
    // Past the socket buffer by the mark: 128 messages of 1 KB at least.
    t.true(counts.pidfd! > 128, JSON.stringify(counts))
  })
}

test('advanced: a host object that is not an ArrayBufferView (a MessagePort) goes as a plain object of its own enumerable properties, and the values after it are intact, as with child_process', async (t) => {
  // The child says what it got: each value's kind and what JSON makes of it.
  const echo = file('host-echo.js', `process.on('message', (m) => { process.send(m.map((v) => [Object.prototype.toString.call(v), JSON.stringify(ArrayBuffer.isView(v) ? Array.from(v) : v)])); process.disconnect() })`)
  const got: Record<string, unknown> = {}
  for (const [name, fork] of forks) {
    const child = fork(echo, [], { serialization: 'advanced' })
    const port = new MessageChannel().port1
    Object.assign(port, { tag: 'mine', n: 7 })
    child.send([port, new Uint8Array([1, 2, 3]), { after: 'the port' }, 'end'])
    got[name] = await new Promise((resolve) => child.once('message', resolve))
    port.close()
  }
  t.deepEqual(got.pidfd, got.child_process)
  t.deepEqual(got.pidfd, [
    ['[object Object]', '{"tag":"mine","n":7}'],
    ['[object Uint8Array]', '[1,2,3]'],
    ['[object Object]', '{"after":"the port"}'],
    ['[object String]', '"end"'],
  ])
})

// A child that speaks the channel's protocol by hand (Python, fork's execPath): what a Node child
// never sends on its own — a NODE_HANDLE whose descriptor is missing, a handle under a message
// of the internal kind, a handle message behind one the parent disconnects on — and what the
// parent writes back, side by side with child_process.
const speaker = file(
  'speaker.py',
  `import json, os, socket, sys
chan = socket.socket(fileno=int(os.environ['NODE_CHANNEL_FD']))
def line(message):
    return json.dumps(message).encode() + b'\\n'
def answer():
    got = b''
    while not got.endswith(b'\\n'):
        byte = chan.recv(1)
        if not byte:
            return 'end'
        got += byte
    return json.loads(got)
held = b''
def message():
    # One message the parent wrote (its descriptors closed): a handle's as [cmd, type, msg].
    global held
    while b'\\n' not in held:
        data, fds, _, _ = socket.recv_fds(chan, 65536, 8)
        for fd in fds:
            os.close(fd)
        if not data:
            return 'end'
        held += data
    one, _, held = held.partition(b'\\n')
    got = json.loads(one)
    return [got.get('cmd'), got.get('type'), got.get('msg')] if 'cmd' in got else got
answers = []
a, b = socket.socketpair()
if sys.argv[1] == 'handles':
    # No descriptor with it: the parent asks for it again (NACK).
    chan.sendall(line({'cmd': 'NODE_HANDLE', 'type': 'net.Native', 'msg': {'n': 1}}))
    answers.append(answer())
    # A socket's descriptor, as net.Native (the handle itself), under a plain message and then
    # under an internal one.
    socket.send_fds(chan, [line({'cmd': 'NODE_HANDLE', 'type': 'net.Native', 'msg': {'n': 2}})], [a.fileno()])
    answers.append(answer())
    socket.send_fds(chan, [line({'cmd': 'NODE_HANDLE', 'type': 'net.Native', 'msg': {'cmd': 'NODE_MINE', 'n': 3}})], [b.fileno()])
    answers.append(answer())
elif sys.argv[1] == 'nack':
    # The parent's handle message, asked for again (NACK) as if its descriptor had not come, then
    # acknowledged; what the parent sends after it comes only then.
    answers.append(message())
    chan.sendall(line({'cmd': 'NODE_HANDLE_NACK'}))
    answers.append(message())
    chan.sendall(line({'cmd': 'NODE_HANDLE_ACK'}))
    answers.append(message())
elif sys.argv[1] == 'nack-always':
    # Every handle message asked for again: the parent gives up after its retransmissions (a
    # cap here, should it never stop), then what waited behind it comes.
    chan.settimeout(20)
    while True:
        got = message()
        answers.append(got)
        if not isinstance(got, list) or got[0] != 'NODE_HANDLE' or len(answers) > 6:
            break
        chan.sendall(line({'cmd': 'NODE_HANDLE_NACK'}))
elif sys.argv[1] == 'queued':
    # The parent disconnects while its handle waits for our ACK, with messages (one more handle
    # among them) queued behind it: each handle acknowledged, all of them come, then the
    # channel's end (not a wait, bounded here).
    chan.settimeout(20)
    try:
        while not answers or answers[-1] != 'end':
            answers.append(message())
            if isinstance(answers[-1], list):
                chan.sendall(line({'cmd': 'NODE_HANDLE_ACK'}))
    except socket.timeout:
        answers.append('no end')
elif sys.argv[1] == 'garbage':
    # A frame that does not parse: the parent's 'error', and the channel ends.
    chan.sendall(b'{not json\\n')
    answers.append(answer())
else:
    # A message and a handle message in one write: the parent disconnects on the first.
    socket.send_fds(chan, [line({'n': 1}) + line({'cmd': 'NODE_HANDLE', 'type': 'net.Native', 'msg': {'n': 2}})], [a.fileno()])
    answers.append(answer())
print(json.dumps(answers), flush=True)
`,
)

/** The speaker run under one fork: what reached the parent's events, and what the child read back. */
async function speak(fork: Fork, step: 'handles' | 'disconnect' | 'nack' | 'nack-always' | 'queued' | 'garbage'): Promise<{ events: unknown[]; answers: unknown }> {
  const child = fork(speaker, [step], { execPath: 'python3', execArgv: [], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const events: unknown[] = []
  if (step === 'nack' || step === 'nack-always' || step === 'queued') {
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    child.send({ a: 1 }, server)
    child.send({ b: 2 })
    if (step === 'queued') {
      child.send({ c: 3 }, server)
      child.send({ d: 4 })
      child.disconnect()
    }
    child.once('exit', () => server.close())
  }
  child.on('disconnect', () => events.push(['disconnect']))
  child.on('error', (err: Error) => events.push(['error', err.name]))
  const seen = (event: string) => (message: unknown, handle: unknown) => {
    events.push([event, message, handle === undefined ? 'none' : (handle as object).constructor.name])
    ;(handle as { close?: () => void } | undefined)?.close?.()
  }
  child.on('message', seen('message'))
  child.on('internalMessage', (message: { cmd?: string }, handle: unknown) => {
    if (message.cmd === 'NODE_MINE') seen('internalMessage')(message, handle)
  })
  if (step === 'disconnect') child.once('message', () => child.disconnect())
  // The child's exit and the end of its stdout (after the parent's own disconnect(), 'close'
  // never comes, from child_process as from the package).
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const out = await text(child.stdout!)
  await exited
  return { events, answers: JSON.parse(out) }
}

test('handles a child sends: one whose descriptor did not come is asked for again (NACK), one that came is acknowledged and given with its message, under an internal message as internalMessage; as with child_process', async (t) => {
  const got: Record<string, unknown> = {}
  for (const [name, fork] of forks) got[name] = await speak(fork, 'handles')
  t.deepEqual(got.pidfd, got.child_process)
  t.deepEqual(got.pidfd, {
    events: [
      ['message', { n: 2 }, 'Pipe'],
      ['internalMessage', { cmd: 'NODE_MINE', n: 3 }, 'Pipe'],
      ['disconnect'],
    ],
    answers: [{ cmd: 'NODE_HANDLE_NACK' }, { cmd: 'NODE_HANDLE_ACK' }, { cmd: 'NODE_HANDLE_ACK' }],
  })
})

test('a handle the child asks for again (NACK) is sent again, and what waits behind it goes once it is acknowledged', async (t) => {
  // Not side by side: on this sequence (the NACK a Node child sends when the descriptor did not
  // come, then the ACK of the handle sent again) child_process's parent throws
  // ERR_INTERNAL_ASSERTION under Node 22.
  const handle = ['NODE_HANDLE', 'net.Server', { a: 1 }]
  t.deepEqual(await speak(pidfd.fork as unknown as Fork, 'nack'), { events: [['disconnect']], answers: [handle, handle, { b: 2 }] })
})

test('a handle message read with one the parent disconnects on is not given after the disconnect, nor acknowledged', async (t) => {
  // Not side by side: child_process's parent throws ERR_INTERNAL_ASSERTION here (Node 22): its
  // handler of the handle message, queued before the disconnect, ACKs on the channel the
  // disconnect has just taken away.
  t.deepEqual(await speak(pidfd.fork as unknown as Fork, 'disconnect'), { events: [['message', { n: 1 }, 'none'], ['disconnect']], answers: ['end'] })
})

// udp6 needs IPv6's loopback (::1), which a container may not have.
const noIpv6 = Object.values(networkInterfaces()).flat().some((i) => i?.address === '::1') ? null : 'no IPv6 loopback (::1) here'

runsIf(noIpv6, 'udp6')('dgram sockets a child sends arrive as sockets of their own type (udp4, udp6), bound where they were, as with child_process', async (t) => {
  const sender = file(
    'dgram-sender.js',
    `const dgram = require('node:dgram')
const four = dgram.createSocket('udp4')
four.bind(0, '127.0.0.1', () => {
  const six = dgram.createSocket('udp6')
  six.bind(0, '::1', () => {
    process.send({ family: 4, port: four.address().port }, four)
    process.send({ family: 6, port: six.address().port }, six)
  })
})
process.on('disconnect', () => process.exit())`,
  )
  const got: Record<string, unknown> = {}
  for (const [name, fork] of forks) {
    const child = fork(sender, [], { execArgv: [] })
    const arrived: unknown[] = []
    await new Promise<void>((resolve) => {
      child.on('message', (m: { family: number; port: number }, socket: import('node:dgram').Socket) => {
        const { family, port } = socket.address()
        arrived.push({ type: (socket as unknown as { type: string }).type, family, samePort: port === m.port, sent: m.family })
        socket.close()
        if (arrived.length === 2) resolve()
      })
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.disconnect()
    await exited
    got[name] = arrived
  }
  t.deepEqual(got.pidfd, got.child_process)
  t.deepEqual(got.pidfd, [
    { type: 'udp4', family: 'IPv4', samePort: true, sent: 4 },
    { type: 'udp6', family: 'IPv6', samePort: true, sent: 6 },
  ])
})

test('a handle the child never acknowledges: sent again three times, then a SentHandleNotReceivedWarning, and what waited behind it goes', async (t) => {
  // Not side by side: child_process's parent throws ERR_INTERNAL_ASSERTION on a NACK (Node 22).
  const warnings: string[] = []
  const onWarning = (w: Error) => {
    if (w.message === 'Handle did not reach the receiving process correctly') warnings.push(w.name)
  }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const handle = ['NODE_HANDLE', 'net.Server', { a: 1 }]
  const got = await speak(pidfd.fork as unknown as Fork, 'nack-always')
  t.deepEqual(got.answers, [handle, handle, handle, handle, { b: 2 }])
  t.deepEqual(warnings, ['SentHandleNotReceivedWarning'])
})

test("disconnect() while a handle waits for its ACK, messages and a second handle queued behind it: each goes after the ACK before it, then the channel ends and 'disconnect' comes, as with child_process", async (t) => {
  const got: Record<string, unknown> = {}
  for (const [name, fork] of forks) got[name] = await speak(fork, 'queued')
  t.deepEqual(got.pidfd, got.child_process)
  t.deepEqual(got.pidfd, { events: [['disconnect']], answers: [['NODE_HANDLE', 'net.Server', { a: 1 }], { b: 2 }, ['NODE_HANDLE', 'net.Server', { c: 3 }], { d: 4 }, 'end'] })
})

test("a frame from the child that does not parse: 'error' (the SyntaxError), and the channel ends", async (t) => {
  // Not side by side: child_process's parent throws it uncaught, from the channel's read.
  t.deepEqual(await speak(pidfd.fork as unknown as Fork, 'garbage'), { events: [['error', 'SyntaxError'], ['disconnect']], answers: ['end'] })
})

test("the channel ends while a handle waits for its ACK: no 'disconnect', and a disconnect() waiting for the ACK is an 'error' (ERR_IPC_DISCONNECTED), as child_process", async (t) => {
  // The child never reads its channel, and ends.
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const got: Record<string, unknown[]> = {}
  for (const [name, fork] of forks) {
    got[name] = []
    for (const disconnect of [false, true]) {
      const child = fork(speaker, ['silent'], { execPath: 'python3', execArgv: ['-c', 'import time; time.sleep(0.3)'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
      const events: unknown[] = []
      child.on('error', (e: Error & { code?: string }) => events.push(['error', e.code]))
      child.on('disconnect', () => events.push(['disconnect']))
      child.send({ a: 1 }, server, (e) => events.push(['callback', e]))
      if (disconnect) child.disconnect()
      await within(new Promise((resolve) => child.on('close', resolve)), 20_000, "'close'")
      events.push(['close', child.connected, child.channel])
      got[name]!.push(events)
    }
  }
  t.deepEqual(got.pidfd, [
    [['callback', null], ['close', false, null]],
    [['callback', null], ['error', 'ERR_IPC_DISCONNECTED'], ['close', false, null]],
  ])
  t.deepEqual(got.pidfd, got.child_process)
})

test("disconnect() from the 'error' of a frame that does not parse: one 'disconnect', then 'close'", async (t) => {
  // The channel's end comes right after the 'error': a disconnect() there ends it already.
  const child = pidfd.fork(speaker, ['garbage'], { execPath: 'python3', execArgv: [], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const events: unknown[] = []
  child.on('error', (err: Error) => {
    events.push(['error', err.name])
    child.disconnect()
  })
  child.on('disconnect', () => events.push(['disconnect']))
  const out = text(child.stdout!)
  const closed = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  t.is(await within(closed, 20_000, "'close'"), 0)
  t.deepEqual(JSON.parse(await out), ['end'])
  t.deepEqual(events, [['error', 'SyntaxError'], ['disconnect']])
})
