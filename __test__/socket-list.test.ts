// A server's sockets sent over the IPC channel, side by side with child_process: what the sender
// keeps of a socket it sent (its descriptor, its timeout, the server's count), and the
// NODE_SOCKET_* protocol both ends speak for them (lib/socket-list.ts): getConnections() answered
// once, close() answered when the receiver already has nothing open. Real processes, a Node child
// each time; only the parent's end differs (node:child_process's fork, or the package's).

import * as cp from 'node:child_process'
import { once } from 'node:events'
import { readlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'

import * as pidfd from '../index.js'
import { fdTable, lenderScript, tempDir, until, within } from './helpers.js'

const dir = tempDir('pidfd-socket-list-')
function script(name: string, source: string): string {
  const path = join(dir, name)
  writeFileSync(path, source)
  return path
}

type Fork = typeof cp.fork
const forks: Array<[string, Fork]> = [
  ['child_process', cp.fork],
  ['pidfd', pidfd.fork as unknown as Fork],
]

/** The next message of `child` that `match` takes, or undefined if none comes within `ms`. */
function next<T>(child: cp.ChildProcess, match: (m: T) => boolean, ms = 10_000): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', on)
      resolve(undefined)
    }, ms)
    const on = (m: T) => {
      if (!match(m)) return
      clearTimeout(timer)
      child.off('message', on)
      resolve(m)
    }
    child.on('message', on)
  })
}

/** A server on a port of 127.0.0.1 whose connections go to `onConnection`. */
async function listening(onConnection: (socket: net.Socket) => void, host = '127.0.0.1'): Promise<{ server: net.Server; connect: () => net.Socket }> {
  const server = net.createServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as net.AddressInfo).port
  return { server, connect: () => net.connect(port, host).on('error', () => {}) }
}

/** A child forked from `script` (killed at the test's end) that holds the socket a server here accepted and sent it, its client's end connected. */
async function holdingOurSocket(t: ExecutionContext, fork: Fork, script: string): Promise<{ child: cp.ChildProcess; server: net.Server; client: net.Socket }> {
  const child = fork(script)
  t.teardown(() => child.kill('SIGKILL'))
  const { server, connect } = await listening((socket) => child.send('socket', socket))
  const client = connect()
  await next<{ kept: string }>(child, (m) => m?.kept === 'socket')
  return { child, server, client }
}

/** What descriptor `fd` of ours is (socket:[inode] for a socket), or null when it is not open. */
function target(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return null
  }
}

/** Whether any descriptor of ours is `what` (a socket:[inode]). */
const held = (what: string) => [...fdTable().values()].includes(what)

// Keeps every socket it is sent and says so; answers 'ping'; writes on a kept socket when asked;
// closes its channel (staying alive) or leaves when told.
const keeper = script(
  'keeper.js',
  `const sockets = []
process.on('message', (m, socket) => {
  if (m === 'ping') return process.send('pong')
  if (m === 'write') return sockets[0].write('from the child')
  if (m === 'leave') {
    setInterval(() => {}, 1000)
    return process.disconnect()
  }
  if (m === 'bye') return process.exit(0)
  if (socket) sockets.push(socket)
  process.send({ kept: m, socket: socket ? socket.constructor.name : typeof socket })
})
`,
)

for (const keepOpen of [false, true]) {
  test(`a server's socket sent ${keepOpen ? 'with' : 'without'} keepOpen: ${keepOpen ? 'ours still, its descriptor open and working after the ACK' : "taken off it at once, our descriptor closed once the child has it (the ACK)"}, as child_process`, async (t) => {
    const results: unknown[] = []
    for (const [name, fork] of forks) {
      const child = fork(keeper)
      t.teardown(() => child.kill('SIGKILL'))
      const seen: Record<string, unknown> = {}
      let descriptor = ''
      const { server, connect } = await listening((socket) => {
        const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd
        descriptor = target(fd) ?? 'none'
        child.send('socket', socket, { keepOpen })
        // What send() did to the socket there and then.
        seen.handle = (socket as unknown as { _handle: unknown })._handle === null ? 'null' : 'kept'
        seen.destroyed = socket.destroyed
        server.close()
      })
      const client = connect()
      const kept = await next<{ kept: string }>(child, (m) => m?.kept === 'socket')
      seen.kept = kept
      t.true(descriptor.startsWith('socket:['), descriptor)
      if (keepOpen) {
        // A round trip more (anything that waited for the ACK went too), and our copy is open still.
        child.send('ping')
        await next(child, (m) => m === 'pong')
        seen.open = held(descriptor)
      } else {
        // The ACK came before the child's message (same channel, in order): our copy goes then.
        seen.open = !(await until(() => !held(descriptor), 5000))
      }
      // The client hears from the child either way.
      const read = new Promise<string>((resolve) => {
        client.once('data', (d) => resolve(String(d)))
        setTimeout(() => resolve('nothing in 10 s'), 10_000).unref()
      })
      child.send('write')
      seen.read = await read
      t.log(name, JSON.stringify(seen))
      client.destroy()
      child.send('bye')
      await once(child, 'close')
      results.push(seen)
    }
    t.deepEqual(results[1], {
      handle: keepOpen ? 'kept' : 'null',
      destroyed: false,
      kept: { kept: 'socket', socket: 'Socket' },
      open: keepOpen,
      read: 'from the child',
    })
    t.deepEqual(results[1], results[0])
  })
}

test("server._connections: a socket sent without keepOpen no longer counts in it, one sent with keepOpen still does; getConnections() adds the child's count, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const child = fork(keeper)
    t.teardown(() => child.kill('SIGKILL'))
    const accepted: net.Socket[] = []
    const { server, connect } = await listening((socket) => accepted.push(socket))
    const clients = [connect(), connect()]
    await until(() => accepted.length === 2, 5000)
    const connections = () => (server as unknown as { _connections: number })._connections
    const counts: Record<string, unknown> = { accepted: connections() }
    child.send('plain', accepted[0])
    counts.afterPlain = connections()
    child.send('kept', accepted[1], { keepOpen: true })
    counts.afterKeepOpen = connections()
    await next<{ kept: string }>(child, (m) => m?.kept === 'kept')
    counts.afterAck = connections()
    counts.total = await new Promise((resolve) => server.getConnections((err, n) => resolve(err ? (err as { code?: string }).code : n)))
    t.log(name, JSON.stringify(counts))
    for (const c of clients) c.destroy()
    accepted[1]!.destroy()
    server.close()
    child.send('bye')
    await once(child, 'close')
    results.push(counts)
  }
  t.deepEqual(results[1], { accepted: 2, afterPlain: 1, afterKeepOpen: 1, afterAck: 1, total: 3 })
  t.deepEqual(results[1], results[0])
})

test("getConnections() of a server whose socket a child holds: its callback runs once, even when the child's disconnect follows the reply; after the disconnect an ERR_CHILD_CLOSED_BEFORE_REPLY; the exit takes the child off the server's workers, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const { child, server, client } = await holdingOurSocket(t, fork, keeper)
    const calls: unknown[][] = []
    const ask = (label: string) => server.getConnections((err, n) => calls.push([label, err ? (err as { code?: string }).code : n]))
    ask('connected')
    t.true(await until(() => calls.length === 1, 5000), JSON.stringify(calls))
    // The child closes its end of the channel and stays: 'disconnect' here, no 'exit'.
    child.send('leave')
    await once(child, 'disconnect')
    // A callback called again by the disconnect would come by now (child_process calls it in
    // the next tick); the next question is answered at once.
    await new Promise((resolve) => setImmediate(resolve))
    ask('disconnected')
    t.true(await until(() => calls.length >= 2, 5000), JSON.stringify(calls))
    // The exit takes the child off the server's workers ('exit' of the list). Node's net.Server
    // with none left never calls getConnections() or close() back (Node 22 to 26): not waited for.
    child.kill()
    await once(child, 'exit')
    const workers = (server as unknown as { _workers: unknown[] })._workers.length
    server.close()
    t.log(name, JSON.stringify(calls), workers)
    client.destroy()
    results.push({ calls, workers })
  }
  t.deepEqual(results[1], {
    calls: [
      ['connected', 1],
      ['disconnected', 'ERR_CHILD_CLOSED_BEFORE_REPLY'],
    ],
    workers: 0,
  })
  t.deepEqual(results[1], results[0])
})

const lender = lenderScript(dir)

for (const order of ['closed before', 'closed after'] as const) {
  test(`sockets a child's server sent here, ${order} the child's server.close(): its callback comes once we hold none (NODE_SOCKET_NOTIFY_CLOSE answered ${order === 'closed before' ? 'at once' : 'at the last close'}), as child_process`, async (t) => {
    const results: unknown[] = []
    for (const [name, fork] of forks) {
      const child = fork(lender)
      t.teardown(() => child.kill('SIGKILL'))
      const sockets: net.Socket[] = []
      const events: string[] = []
      child.on('message', (m: unknown, socket?: net.Socket) => {
        if (m === 'socket' && socket) sockets.push(socket)
        if (m === 'closed') events.push('child server closed')
      })
      t.true(await until(() => sockets.length === 2, 20_000))
      const destroyAll = async () => {
        await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('close', resolve).destroy())))
        events.push('ours closed')
      }
      if (order === 'closed before') {
        await destroyAll()
        child.send('close')
      } else {
        // The child's question is here before we close ours: it waits for them.
        const asked = new Promise<void>((resolve) =>
          child.on('internalMessage', (m: { cmd?: string }) => {
            if (m?.cmd === 'NODE_SOCKET_NOTIFY_CLOSE') resolve()
          }),
        )
        child.send('close')
        await asked
        events.push('asked')
        await destroyAll()
      }
      t.true(await until(() => events.includes('child server closed'), 10_000), `${name}: ${events.join()}`)
      child.send('bye')
      await once(child, 'close')
      results.push(events)
    }
    t.deepEqual(results[1], order === 'closed before' ? ['ours closed', 'child server closed'] : ['asked', 'ours closed', 'child server closed'])
    t.deepEqual(results[1], results[0])
  })
}

test('a socket already closed sent to the child: the message goes without it, as child_process', async (t) => {
  const results: unknown[] = []
  for (const [, fork] of forks) {
    const child = fork(keeper)
    t.teardown(() => child.kill('SIGKILL'))
    const { server, connect } = await listening((socket) => {
      socket.destroy()
      child.send('closed socket', socket, (err: Error | null) => (sent = err === null ? 'sent' : String(err)))
      server.close()
    })
    let sent = ''
    const errors: string[] = []
    child.on('error', (err) => errors.push(String(err)))
    connect()
    const kept = await next<{ kept: string }>(child, (m) => m?.kept === 'closed socket')
    child.send('bye')
    await once(child, 'close')
    results.push({ kept, sent, errors })
  }
  t.deepEqual(results[1], { kept: { kept: 'closed socket', socket: 'undefined' }, sent: 'sent', errors: [] })
  t.deepEqual(results[1], results[0])
})

for (const keepOpen of [false, true]) {
  test(`a socket with a timeout sent ${keepOpen ? 'with' : 'without'} keepOpen: its 'timeout' ${keepOpen ? 'still comes here' : 'no longer comes here (set to 0 with the handoff)'}, as child_process`, async (t) => {
    const results: unknown[] = []
    for (const [name, fork] of forks) {
      const child = fork(keeper)
      t.teardown(() => child.kill('SIGKILL'))
      let timedOut = false
      const { server, connect } = await listening((socket) => {
        socket.setTimeout(50, () => (timedOut = true))
        child.send('socket', socket, { keepOpen })
        server.close()
      })
      const client = connect()
      const kept = await next<{ kept: string }>(child, (m) => m?.kept === 'socket')
      // Where it still comes, awaited up to 5 s (a busy machine's timers run late); where it must
      // not, a window of ten times the timeout (a negative claim: no later event would show it).
      const seen = { kept, timedOut: await until(() => timedOut, keepOpen ? 5000 : 500) }
      t.log(name, JSON.stringify(seen))
      client.destroy()
      child.send('bye')
      await once(child, 'close')
      results.push(seen)
    }
    t.deepEqual(results[1], { kept: { kept: 'socket', socket: 'Socket' }, timedOut: keepOpen })
    t.deepEqual(results[1], results[0])
  })
}

// Keeps the sockets it is sent; answers 'ping'; closes every socket it holds on 'close all'.
const holder = script(
  'holder.js',
  `const sockets = []
process.on('message', (m, socket) => {
  if (m === 'ping') return process.send('pong')
  if (m === 'close all') return sockets.splice(0).forEach((s) => s.destroy())
  if (m === 'bye') return process.exit(0)
  if (socket) sockets.push(socket)
  process.send({ kept: m })
})
`,
)

/** Listeners of the channel's internal messages and of 'disconnect': a finished question leaves none behind. */
const listeners = (child: cp.ChildProcess) => [child.listenerCount('internalMessage'), child.listenerCount('disconnect')]

test("two servers' questions to one child at once: each gets its own answer (by key), and a finished question leaves no listener, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const child = fork(holder)
    t.teardown(() => child.kill('SIGKILL'))
    // Two keys: a server's key is its address as given to listen() (port 0 for both here).
    const a = await listening((socket) => child.send('a', socket))
    const b = await listening((socket) => child.send('b', socket), '127.0.0.2')
    const kept: string[] = []
    child.on('message', (m: { kept?: string }) => m?.kept && kept.push(m.kept))
    const clients = [a.connect(), a.connect(), b.connect()]
    t.true(await until(() => kept.length === 3, 10_000), `${name}: ${kept.join()}`)
    const before = listeners(child)
    const count = (server: net.Server) => new Promise((resolve) => server.getConnections((err, n) => resolve(err ? (err as { code?: string }).code : n)))
    const counts = await Promise.all([count(a.server), count(b.server), count(a.server)])
    const after = listeners(child)
    t.log(name, JSON.stringify({ counts, before, after }))
    for (const c of clients) c.destroy()
    a.server.close()
    b.server.close()
    child.send('bye')
    await once(child, 'close')
    results.push({ counts, same: JSON.stringify(before) === JSON.stringify(after) })
  }
  t.deepEqual(results[1], { counts: [2, 1, 2], same: true })
  t.deepEqual(results[1], results[0])
})

test("a server's close() waits for the child to close the sockets it was sent, even when a getConnections() answer comes first, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const { child, server, client } = await holdingOurSocket(t, fork, holder)
    const events: unknown[] = []
    server.close(() => events.push('closed'))
    server.getConnections((err, n) => events.push(['count', err ? (err as { code?: string }).code : n]))
    t.true(await until(() => events.length >= 1, 5000))
    // A round trip after the answer: a close() that took it for its own has called back by now.
    child.send('ping')
    await next(child, (m) => m === 'pong')
    events.push('the child told to close its sockets')
    child.send('close all')
    t.true(await until(() => events.includes('closed'), 10_000), `${name}: ${JSON.stringify(events)}`)
    t.log(name, JSON.stringify(events))
    client.destroy()
    child.send('bye')
    await once(child, 'close')
    results.push(events)
  }
  // close() counts itself as a connection until its workers are done: 1 here, 1 in the child.
  t.deepEqual(results[1], [['count', 2], 'the child told to close its sockets', 'closed'])
  t.deepEqual(results[1], results[0])
})

test("a getConnections() question the disconnect leaves unanswered: ERR_CHILD_CLOSED_BEFORE_REPLY, once, no 'error', and no listener left, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const { child, server, client } = await holdingOurSocket(t, fork, holder)
    const before = listeners(child)
    const calls: unknown[] = []
    const errors: string[] = []
    child.on('error', (err) => errors.push(String(err)))
    // Asked, then disconnected in the same tick: no answer can come in between. (The child
    // disconnecting instead races the question's write, which may then fail with EPIPE.)
    server.getConnections((err, n) => calls.push(err ? (err as { code?: string }).code : n))
    const exited = once(child, 'exit')
    child.disconnect()
    // Bounded, so that a wait that never ends names its step and its side (the musl suite of one
    // CI run timed out in this test, with no line to say where).
    await within(once(child, 'disconnect'), 20_000, `${name}: 'disconnect' after disconnect()`)
    t.true(await until(() => calls.length >= 1, 5000), `${name}: no answer`)
    // A round of the loop more: a second call would have come.
    await new Promise((resolve) => setImmediate(resolve))
    const after = listeners(child)
    t.log(name, JSON.stringify({ calls, before, after }))
    child.kill()
    await within(exited, 20_000, `${name}: 'exit' after kill()`)
    server.close()
    client.destroy()
    results.push({ calls, errors, same: JSON.stringify(before) === JSON.stringify(after) })
  }
  t.deepEqual(results[1], { calls: ['ERR_CHILD_CLOSED_BEFORE_REPLY'], errors: [], same: true })
  t.deepEqual(results[1], results[0])
})

test("sockets a child's server sent here, closed one at a time after its server.close(): the child's close() waits for the last, as child_process", async (t) => {
  const results: unknown[] = []
  for (const [name, fork] of forks) {
    const child = fork(lender)
    t.teardown(() => child.kill('SIGKILL'))
    const sockets: net.Socket[] = []
    const events: unknown[] = []
    child.on('message', (m: unknown, socket?: net.Socket) => {
      if (m === 'socket' && socket) sockets.push(socket)
      if (m === 'closed') events.push('child server closed')
      if ((m as { count?: unknown })?.count !== undefined) events.push(['child count', (m as { count: unknown }).count])
    })
    t.true(await until(() => sockets.length === 2, 20_000))
    const asked = new Promise<void>((resolve) =>
      child.on('internalMessage', (m: { cmd?: string }) => {
        if (m?.cmd === 'NODE_SOCKET_NOTIFY_CLOSE') resolve()
      }),
    )
    child.send('close')
    await asked
    for (const [i, socket] of sockets.entries()) {
      await new Promise((resolve) => socket.once('close', resolve).destroy())
      events.push(`ours closed: ${i + 1} of 2`)
      if (i === 0) {
        // A round trip through the child's server (its getConnections() asks us): an answer to its
        // close() sent too early would have closed it before this comes back.
        child.send('count')
        t.true(await until(() => events.some((e) => Array.isArray(e)), 10_000), `${name}: ${JSON.stringify(events)}`)
      }
    }
    t.true(await until(() => events.includes('child server closed'), 10_000), `${name}: ${JSON.stringify(events)}`)
    t.log(name, JSON.stringify(events))
    child.send('bye')
    await once(child, 'close')
    results.push(events)
  }
  t.deepEqual(results[1], results[0])
  t.deepEqual(results[1]!, ['ours closed: 1 of 2', ['child count', 2], 'ours closed: 2 of 2', 'child server closed'])
})
