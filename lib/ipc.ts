// The IPC channel of a child spawned with 'ipc' in its stdio (fork() always has one): a socket
// pair as the package's pipes are, our end a net.Socket, the child's end announced to it in
// NODE_CHANNEL_FD, as child_process announces it, so a Node child's process.send(),
// process.on('message') and process.disconnect() talk to it. The messages are framed as
// child_process frames them (NODE_CHANNEL_SERIALIZATION_MODE):
//   json      one JSON text per message, ended by '\n';
//   advanced  a 4-byte big-endian length, then the v8 serialization of the message, with the
//             host-object rule of child_process (a tag 0 before an ArrayBufferView, written by
//             v8; a tag 1 before any other host object, written as a plain object).
// Handles (net.Socket, net.Server, dgram.Socket, and the native TCP, Pipe, UDP) go as Node
// sends them: a NODE_HANDLE message written with the handle's descriptor as SCM_RIGHTS (one
// sendmsg, src/sys.rs), then nothing else until the child's NODE_HANDLE_ACK (a NACK sends it
// again). Our end is a libuv pipe of the IPC kind, as Node's own channel is, so a handle the child
// sends is received too: libuv reads with recvmsg and gives the descriptor with the read that
// holds the message's first byte; it is made what the message names (a net.Socket, net.Server,
// dgram.Socket, or the native handle), acknowledged, and given with the 'message'. A server's
// sockets sent either way keep counting for it (lib/socket-list.ts).

import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import net, { type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { deprecate } from 'node:util'
import { DefaultDeserializer, DefaultSerializer } from 'node:v8'

import { errnoName, fromNative, invalidArgType, invalidHandleType, ipcChannelClosed, ipcDisconnected, missingArgs, systemError } from './errors.js'
import { binding } from './native.js'
import { SocketListReceive, SocketListSend } from './socket-list.js'

export type Serialization = 'json' | 'advanced'

/** As child_process: send() says false once this many bytes wait to be written. */
const HIGH_WATER = 65536 * 2

interface Codec {
  /** The messages complete in the bytes read so far. */
  decode(chunk: Buffer): unknown[]
  encode(message: unknown): Buffer | string
}

function jsonCodec(): Codec {
  // The stream is cut at the byte '\n' (0x0A), which UTF-8 never uses inside a multi-byte
  // character, and searched for it only in the new chunk; a message's bytes are decoded once,
  // when its '\n' comes. Until then they are kept as the pieces they came in and joined once,
  // so a message read in n chunks costs O(its length); searching and splitting the whole
  // partial message again at each chunk cost O(n × its length).
  /** Never empty ones (a character's first bytes count as a piece). */
  let pieces: Buffer[] = []
  return {
    decode(chunk) {
      const messages: unknown[] = []
      let start = 0
      for (let end = chunk.indexOf(0x0a); end !== -1; start = end + 1, end = chunk.indexOf(0x0a, start)) {
        let text: string
        if (pieces.length === 0) text = chunk.toString('utf8', start, end)
        else {
          pieces.push(chunk.subarray(start, end))
          // Decoded piece by piece, the decoder carrying a character split between two, then
          // joined: faster than joining the bytes and decoding them whole (a 128 MiB message
          // decoded and parsed in 275 ms rather than 300, the payload of bench/ipc.ts).
          const decoder = new StringDecoder('utf8')
          text = pieces.map((piece) => decoder.write(piece)).join('') + decoder.end()
          pieces = []
        }
        messages.push(JSON.parse(text) as unknown)
      }
      if (start < chunk.length) pieces.push(start === 0 ? chunk : chunk.subarray(start))
      return messages
    },
    encode: (message) => `${JSON.stringify(message)}\n`,
  }
}

const VIEW = 0
const OTHER = 1
/** Where an advanced frame's length goes, before it is known. */
const LENGTH_ROOM = Buffer.alloc(4)

// v8's host-object hooks, which @types/node leaves out.
const SerializerBase = DefaultSerializer as unknown as new () => DefaultSerializer & { _writeHostObject(object: object): void }
const DeserializerBase = DefaultDeserializer as unknown as new (buffer: Uint8Array) => DefaultDeserializer & { _readHostObject(): unknown }

class Serializer extends SerializerBase {
  override _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(VIEW)
      super._writeHostObject(object)
    } else {
      this.writeUint32(OTHER)
      this.writeValue({ ...object })
    }
  }
}

class Deserializer extends DeserializerBase {
  override _readHostObject(): unknown {
    if (this.readUint32() === VIEW) return super._readHostObject()
    return this.readValue()
  }
}

function advancedCodec(): Codec {
  // The chunks read and not yet made into messages, and their total length. A frame read in n
  // chunks is concatenated once, when its last byte is in, so it costs O(its length);
  // concatenating what was held with each new chunk cost O(n × its length).
  let chunks: Buffer[] = []
  let held = 0
  return {
    decode(chunk) {
      if (chunk.length === 0) return []
      chunks.push(chunk)
      held += chunk.length
      const messages: unknown[] = []
      while (held >= 4) {
        // The 4-byte length split across reads: its pieces joined. Only the chunk that completes
        // it is more than a few bytes, so this copies at most one read, once per frame.
        if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, held)]
        const end = 4 + chunks[0]!.readUInt32BE(0)
        if (held < end) break
        const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, held)
        const reader = new Deserializer(whole.subarray(4, end))
        reader.readHeader()
        messages.push(reader.readValue())
        // What follows the frame in the last read: the next frames, or the start of one.
        held = whole.length - end
        chunks = held > 0 ? [whole.subarray(end)] : []
      }
      return messages
    },
    encode(message) {
      // The serializer writes the frame whole, its length's 4 bytes first and filled in once the
      // length is known: no copy of the body into a frame of its own (a copy into freshly mapped
      // memory, which cost a 1 MiB message about half a millisecond, and twice the memory).
      const writer = new Serializer()
      writer.writeRawBytes(LENGTH_ROOM)
      writer.writeHeader()
      writer.writeValue(message)
      const frame = writer.releaseBuffer()
      frame.writeUInt32BE(frame.length - 4, 0)
      return frame
    },
  }
}

/** Messages child_process keeps to itself ('internalMessage'): a `cmd` starting with NODE_. */
function isInternal(message: unknown): message is { cmd: string } {
  const cmd = (message as { cmd?: unknown } | null)?.cmd
  return typeof message === 'object' && typeof cmd === 'string' && cmd.length > 5 && cmd.startsWith('NODE_')
}

/** A libuv handle as Node's objects hold it: its descriptor, and reading to stop. */
interface NativeHandle {
  fd?: number
  readStop?: () => void
  onread?: unknown
  close?: () => void
}

/** dgram keeps its handle under a symbol of its own ('state symbol'). */
function dgramHandle(socket: dgram.Socket): NativeHandle | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'state symbol')
  return key ? (socket as unknown as Record<symbol, { handle?: NativeHandle }>)[key]?.handle : undefined
}

/**
 * What child_process calls a handle, with the type its message names, and the libuv handle
 * whose descriptor goes over; null for anything else (ERR_INVALID_HANDLE_TYPE).
 */
function handleOf(handle: object): { type: string; native: NativeHandle | null | undefined } | null {
  if (handle instanceof net.Socket) return { type: 'net.Socket', native: (handle as unknown as { _handle?: NativeHandle | null })._handle }
  if (handle instanceof net.Server) return { type: 'net.Server', native: (handle as unknown as { _handle?: NativeHandle | null })._handle }
  if (handle instanceof dgram.Socket) return { type: 'dgram.Socket', native: dgramHandle(handle) }
  // The native handles themselves (TCP, Pipe, UDP), as child_process also takes them.
  const name = (handle as { constructor?: { name?: unknown } }).constructor?.name
  if (name === 'TCP' || name === 'Pipe') return { type: 'net.Native', native: handle as NativeHandle }
  if (name === 'UDP') return { type: 'dgram.Native', native: handle as NativeHandle }
  return null
}

/** What a NODE_HANDLE message holds besides the descriptor. */
interface HandleMessage {
  cmd: 'NODE_HANDLE'
  type: string
  msg: unknown
  key?: unknown
  dgramType?: unknown
}

/** A libuv pipe handle as Node's net module wraps it. */
interface PipeHandle extends NativeHandle {
  open(fd: number): number
  pendingHandle?: NativeHandle | null
  onread?: (...args: unknown[]) => unknown
}
type PipeClass = new (kind: number) => PipeHandle

/** libuv's pipe kinds (pipe_wrap's constants): an IPC pipe reads with recvmsg and keeps descriptors. */
const PIPE_IPC = 2
let Pipe: PipeClass | undefined

/**
 * Our end of the channel, `fd`, as a net.Socket over an IPC pipe handle. Node gives no public way
 * to build one; the class is that of the handle net makes for a plain socket, learnt once per
 * process from a throwaway socket over a copy of `fd`.
 */
export function channelSocket(fd: number): Socket {
  if (Pipe === undefined) {
    const probe = new net.Socket({ fd: binding.ipcDup(fd) })
    Pipe = (probe as unknown as { _handle: { constructor: PipeClass } })._handle.constructor
    probe.destroy()
  }
  const pipe = new Pipe(PIPE_IPC)
  const err = pipe.open(fd)
  if (err) throw systemError(errnoName(-err), 'open')
  return new net.Socket({ handle: pipe, readable: true, writable: true } as net.SocketConstructorOpts)
}

/** What a net.Server has that child_process uses for the sockets it sends. */
interface ServerInternals {
  _connectionKey: string
  _connections: number
  _setupWorker?: (list: SocketListSend) => void
}

/**
 * An HTTP server's socket sent away: its parser and its response let go of it, as child_process
 * does, so neither holds the socket (nor writes to it) here once it is the child's.
 */
function releaseHttp(socket: net.Socket): void {
  const s = socket as net.Socket & { parser?: unknown; _httpMessage?: { detachSocket?: (socket: net.Socket) => void } | null }
  if (!s.parser) return
  const common = require('node:_http_common') as { freeParser(parser: unknown, req: null, socket: net.Socket): void; HTTPParser: new () => unknown }
  if (!(s.parser instanceof common.HTTPParser)) return
  common.freeParser(s.parser, null, socket)
  s._httpMessage?.detachSocket?.(socket)
}

/** As child_process: a handle the child has not acknowledged is sent again, this many times. */
const MAX_RETRANSMISSIONS = 3

export type SendCallback = (error: Error | null) => void
/** send()'s options: `keepOpen` (a socket sent stays open here too), and the legacy swallowErrors. */
interface Options {
  swallowErrors?: boolean
  keepOpen?: boolean
}

/** The subprocess side of a channel: what setupChannel puts on it. */
export interface ChannelTarget extends EventEmitter {
  connected: boolean
  channel: Channel | null | undefined
  send?: (message: unknown, sendHandle?: unknown, options?: unknown, callback?: unknown) => boolean
  disconnect?: () => void
}

/** The major version of the Node this runs under: where Node's own channel changed. */
const nodeMajor = Number(process.versions.node.split('.')[0])
/** Node's channel emits 'unref' when its count reaches none up to Node 23; Node 24 dropped it. */
const emitsUnref = nodeMajor < 24
/** ChildProcess's `_channel` (DEP0129), which Node 26 dropped: `channel`, with Node's warning. */
const hasChannelAlias = nodeMajor < 26
const channelDeprecation = '_channel is deprecated. Use ChildProcess.channel instead.'
const channelAlias = deprecate(function (this: { channel?: unknown }) {
  return this.channel
}, channelDeprecation, 'DEP0129')
const channelAliasSet = deprecate(function (this: { channel?: unknown }, value: unknown) {
  this.channel = value
}, channelDeprecation, 'DEP0129')

/**
 * `subprocess.channel`: ref() and unref() of the channel (a connected channel keeps the event
 * loop alive, as child_process's does; unref() lets the process exit while it is open), and its
 * descriptor.
 */
export class Channel extends EventEmitter {
  readonly #socket: Socket | null
  /** The socket's libuv handle, kept for `fd` as Node's channel keeps it: -1 once closed. */
  readonly #handle: { fd?: number } | null
  /** Holds counted by refCounted() and not yet let go. */
  #holds = 0
  /** Set by ref() or unref(): the counted calls then leave the channel as the user said. */
  #explicit = false

  /** @internal */
  constructor(socket: Socket | null) {
    super()
    this.#socket = socket
    this.#handle = (socket as { _handle?: { fd?: number } | null } | null)?._handle ?? null
  }

  /**
   * One more reason to keep the event loop alive (a write under way, a listener waiting): the
   * first refs the channel, unless ref() or unref() was called. As Node's channel counts them.
   */
  refCounted(): void {
    if (++this.#holds === 1 && !this.#explicit) this.#socket?.ref()
  }

  /**
   * One reason fewer: at none the channel is unref'd, unless ref() or unref() was called, and
   * emits 'unref' where the Node it runs under does (before Node 24).
   */
  unrefCounted(): void {
    if (--this.#holds === 0 && !this.#explicit) {
      this.#socket?.unref()
      if (emitsUnref) this.emit('unref')
    }
  }

  /** Keep the event loop alive while the channel is open (the default); the counts stop counting. */
  ref(): void {
    this.#explicit = true
    this.#socket?.ref()
  }

  /** Let the event loop end while the channel is open; the counts stop counting. */
  unref(): void {
    this.#explicit = true
    this.#socket?.unref()
  }

  /**
   * Our end's descriptor; once the channel is closed -1, as Node's says at 'disconnect' (its
   * handle's later answer is libuv's EINVAL, -22); undefined without a channel.
   */
  get fd(): number | undefined {
    const fd = this.#handle?.fd
    return fd === undefined ? undefined : Math.max(fd, -1)
  }
}

interface WritableInternals {
  _writableState?: { writing?: boolean; writelen?: number }
  _handle?: { writeQueueSize?: number } | null
}

/**
 * Bytes waiting to be written, measured as child_process measures its channel's: what the
 * kernel has not taken of the write under way, and the whole of the writes queued behind it.
 */
function queued(socket: Socket): number {
  const s = socket as Socket & WritableInternals
  const state = s._writableState
  const inFlight = state?.writing ? (state.writelen ?? 0) : 0
  return socket.writableLength - inFlight + (s._handle?.writeQueueSize ?? 0)
}

/**
 * Gives `target` child_process's IPC face: send(), disconnect(), connected, channel, and the
 * 'message', 'internalMessage' and 'disconnect' events. `socket` null: the spawn failed and
 * nothing is behind the channel (writes fail with EPIPE, then it is closed, as child_process's
 * is). `closed` is called once our end is done with, for 'close'.
 */
export function setupChannel(target: ChannelTarget, socket: Socket | null, mode: Serialization, closed: () => void): void {
  const codec = mode === 'advanced' ? advancedCodec() : jsonCodec()
  const control = new Channel(socket)
  /** Messages that came while nobody listened to 'message', delivered to the first listener. */
  let unheard: Array<[string, unknown, unknown]> = []
  let open = true
  /** A descriptor received (as a handle) for the NODE_HANDLE message it came with. */
  let received: NativeHandle | null = null
  /** The server-socket lists of this channel, by server key (lib/socket-list.ts). */
  const lists = { send: new Map<string, SocketListSend>(), got: new Map<string, SocketListReceive>() }
  const post = (message: Record<string, unknown>, swallowErrors: boolean) => {
    sendMessage(message, undefined, { swallowErrors }, undefined)
  }

  /**
   * After a handle is sent, everything else waits for the child's ACK (or NACK), as in
   * child_process: null when nothing waits.
   */
  let queue: Array<{ message: unknown; handle: object | undefined; options: Options; callback: SendCallback | undefined }> | null = null
  /** The handle message waiting for its ACK: sent again on a NACK. */
  let pending: { message: unknown; handle: object; options: Options; retransmissions: number; detached: NativeHandle | null } | null = null
  /** Writes of ours not yet done: a handle goes only once they are (it bypasses the socket). */
  let writing = 0

  /** The end was seen and 'disconnect' is on its way: the next tick closes our end. */
  let ending = false
  /** Callbacks of writes the channel's end cut off: called once 'disconnect' is out. */
  let cutOff: SendCallback[] = []
  const callCutOff = () => {
    const waiting = cutOff
    cutOff = []
    for (const callback of waiting) callback(null)
  }
  /** A descriptor received for a message that never came (the channel ended first). */
  const dropReceived = () => {
    received?.close?.()
    received = null
  }
  const release = () => {
    if (!open) return
    open = false
    dropReceived()
    socket?.removeListener('data', onData)
    socket?.destroy()
    callCutOff()
    closed()
  }

  function emit(event: string, message: unknown, handle: unknown): void {
    if (event === 'internalMessage' || target.listenerCount('message') > 0) target.emit(event, message, handle)
    else unheard.push([event, message, handle])
  }

  function deliver(message: unknown): void {
    if (!target.channel) return
    const internal = isInternal(message)
    if (internal && message.cmd === 'NODE_HANDLE') {
      // The descriptor read with this message's first byte, if it came.
      const handle = received
      received = null
      process.nextTick(gotHandle, message as unknown as HandleMessage, handle)
      return
    }
    if (internal && (message.cmd === 'NODE_HANDLE_ACK' || message.cmd === 'NODE_HANDLE_NACK')) {
      process.nextTick(acknowledged, message.cmd === 'NODE_HANDLE_ACK')
      return
    }
    process.nextTick(emit, internal ? 'internalMessage' : 'message', message, undefined)
  }

  /**
   * A handle the child sent: acknowledged (a NACK if its descriptor went missing, and the child
   * sends it again), made what the message says it is, then given with the message it carried.
   */
  function gotHandle(message: HandleMessage, handle: NativeHandle | null): void {
    if (!target.channel) {
      handle?.close?.()
      return
    }
    if (handle === null) {
      write({ cmd: 'NODE_HANDLE_NACK' }, { swallowErrors: true }, undefined)
      return
    }
    write({ cmd: 'NODE_HANDLE_ACK' }, { swallowErrors: true }, undefined)
    const give = (object: unknown) => emit(isInternal(message.msg) ? 'internalMessage' : 'message', message.msg, object)
    switch (message.type) {
      case 'net.Server': {
        const server = new net.Server()
        server.listen(handle as unknown as net.ListenOptions, () => give(server))
        break
      }
      case 'net.Socket': {
        const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts)
        // A server's socket: counted for the sender until it closes here.
        if (typeof message.key === 'string') {
          let list = lists.got.get(message.key)
          if (!list) lists.got.set(message.key, (list = new SocketListReceive(target, message.key, post)))
          list.add(socket)
        }
        give(socket)
        break
      }
      case 'dgram.Socket': {
        const socket = dgram.createSocket(message.dgramType === 'udp6' ? 'udp6' : 'udp4')
        ;(socket.bind as unknown as (handle: unknown, done: () => void) => void)(handle, () => give(socket))
        break
      }
      default:
        // 'net.Native' and 'dgram.Native': the handle itself.
        give(handle)
    }
  }

  /**
   * The child's answer to the handle sent: on a NACK it goes again (up to
   * MAX_RETRANSMISSIONS times, then a warning, as child_process); then what waited goes.
   */
  function acknowledged(ack: boolean): void {
    const sent = pending
    const waiting = queue ?? []
    pending = null
    queue = null
    if (sent) {
      if (!ack && sent.retransmissions < MAX_RETRANSMISSIONS) {
        sendMessage(sent.message, sent.handle, sent.options, undefined, sent.retransmissions + 1)
        // Still ours to close once the child has it.
        if (pending) (pending as { detached: NativeHandle | null }).detached ??= sent.detached
      } else {
        if (!ack) process.emitWarning('Handle did not reach the receiving process correctly', 'SentHandleNotReceivedWarning')
        // A socket sent without keepOpen is the child's now: our copy is closed.
        sent.detached?.close?.()
      }
    }
    for (const w of waiting) sendMessage(w.message, w.handle, w.options, w.callback)
    // A disconnect() that waited for the queue.
    if (!target.connected && target.channel === control && queue === null) closeChannel(false)
  }

  function onData(chunk: Buffer): void {
    let messages: unknown[]
    try {
      messages = codec.decode(chunk)
    } catch (err) {
      // A frame that does not parse: the channel is unusable from here on.
      target.emit('error', err)
      onEnd()
      return
    }
    for (const message of messages) deliver(message)
  }

  function onEnd(releaseNow = false): void {
    if (!open || ending) return
    // As child_process at the end of the channel, which calls disconnect(): 'disconnect' if
    // nothing waits for a handle's ACK; while one does (the ACK will not come now), no
    // 'disconnect' at all, and a disconnect() already waiting for it makes this one an 'error'
    // (ERR_IPC_DISCONNECTED). Our end is then done with in the next tick, so 'close' (which
    // waits for it) can only come after.
    if (target.connected || target.channel === control) {
      const waited = queue !== null
      if (!target.connected) target.emit('error', ipcDisconnected())
      target.connected = false
      queue = null
      pending = null
      closeChannel(true, !waited)
      // A failed spawn's channel (nothing behind it) is done with at once, and its 'close' comes
      // before the 'disconnect' of the next tick, as child_process orders them.
      if (!releaseNow) {
        ending = true
        return
      }
    }
    release()
  }

  target.on('newListener', () => {
    process.nextTick(() => {
      if (!target.channel || target.listenerCount('message') === 0 || unheard.length === 0) return
      const waiting = unheard
      unheard = []
      for (const [event, message, handle] of waiting) target.emit(event, message, handle)
    })
  })

  function failure(options: Options, callback: SendCallback | undefined): (err: Error) => void {
    return (err) => {
      if (typeof callback === 'function') callback(err)
      else if (!options.swallowErrors) target.emit('error', err)
    }
  }

  function write(message: unknown, options: Options, callback: SendCallback | undefined): boolean {
    const frame = codec.encode(message)
    const failed = failure(options, callback)
    if (socket === null || socket.destroyed) {
      process.nextTick(failed, systemError('EPIPE', 'write'))
      return true
    }
    // As child_process: a write the kernel refuses at once (EPIPE: the child is gone) is an error,
    // for the callback or else 'error' (net destroys the socket there and then); one that fails
    // later, queued (the channel closed, ECONNRESET), is not reported: the callback gets null.
    let refused = false
    let held = false
    writing++
    socket.write(frame, (err) => {
      writing--
      if (held) control.unrefCounted()
      if (err && refused) failed(err)
      // Cut off by the channel's end (the child died with it under way): child_process's
      // callback comes once the channel is closed, after 'disconnect'.
      else if (typeof callback === 'function' && err && open) cutOff.push(callback)
      else if (typeof callback === 'function') callback(null)
      if (writing === 0) flushed()
    })
    refused = socket.destroyed
    // A write the kernel did not take at once holds the loop until it is done, as Node's channel
    // does (counted: an unref() or ref() of the user's stands).
    if ((socket as WritableInternals)._writableState?.writing) {
      held = true
      control.refCounted()
    }
    return queued(socket) < HIGH_WATER
  }

  /** A handle message waiting for our earlier writes to be done. */
  let handoff: (() => void) | null = null
  function flushed(): void {
    const next = handoff
    handoff = null
    next?.()
  }

  /**
   * The frame of a handle message with the handle's descriptor as SCM_RIGHTS, in one sendmsg
   * (so the descriptor comes with the message's first byte, as libuv reads it): after our
   * earlier writes, and again a moment later while the socket is full.
   */
  function sendWithFd(frame: Buffer, fd: number, callback: SendCallback | undefined): void {
    // As child_process: a handle's frame goes out by uv_write2, which never tries the write at the
    // call, so no failure of it is reported (a dead channel's EPIPE included): the callback gets
    // null, and without one nothing is emitted.
    const unreported = () => {
      if (typeof callback === 'function') process.nextTick(callback, null)
    }
    if (socket === null || socket.destroyed) return unreported()
    if (writing > 0) {
      handoff = () => sendWithFd(frame, fd, callback)
      return
    }
    const ours = control.fd ?? -1
    let sent: number
    try {
      sent = binding.ipcSendHandle(ours, frame, fd)
    } catch (raw) {
      const err = fromNative(raw) as Error & { code?: string }
      if (err.code === 'EAGAIN') {
        setTimeout(() => sendWithFd(frame, fd, callback), 1)
        return
      }
      return unreported()
    }
    if (sent < frame.length) {
      // The descriptor went with the first part; the rest follows on the socket.
      writing++
      socket.write(frame.subarray(sent), () => {
        writing--
        if (typeof callback === 'function') callback(null)
        if (writing === 0) flushed()
      })
    } else if (typeof callback === 'function') process.nextTick(callback, null)
  }

  /** child_process's _send: a handle goes with a NODE_HANDLE message; what comes after it waits for the ACK. */
  function sendMessage(message: unknown, handle: object | undefined, options: Options, callback: SendCallback | undefined, retransmissions = 0): boolean {
    if (handle) {
      const found = handleOf(handle)
      if (found === null) throw invalidHandleType()
      if (queue) {
        queue.push({ message, handle, options, callback })
        return queue.length === 1
      }
      const fd = found.native?.fd
      // As child_process: a handle with nothing left to send (closed) leaves the message alone.
      if (typeof fd !== 'number' || fd < 0) return write(message, options, callback)
      const wrapped: Record<string, unknown> = { cmd: 'NODE_HANDLE', type: found.type, msg: message }
      if (handle instanceof dgram.Socket) wrapped.dgramType = (handle as unknown as { type: string }).type
      let detached: NativeHandle | null = null
      const server = handle instanceof net.Socket ? (handle as unknown as { server?: ServerInternals | null }).server : null
      if (server) {
        // A server's socket: the child counts it for the server from here on (lib/socket-list.ts),
        // and the server asks the child about it (getConnections(), close()).
        wrapped.key = server._connectionKey
        if (!lists.send.has(server._connectionKey)) {
          const list = new SocketListSend(target, server._connectionKey, post)
          lists.send.set(server._connectionKey, list)
          server._setupWorker?.(list)
        }
        if (!options.keepOpen) server._connections--
      }
      if (handle instanceof net.Socket && !options.keepOpen) {
        // As child_process: the socket is the child's from here on. Its libuv handle is taken
        // off it (no more reading, no timeout) and closed once the child has the descriptor.
        detached = found.native as NativeHandle
        detached.onread = () => {}
        detached.readStop?.()
        ;(handle as unknown as { _handle: unknown })._handle = null
        handle.setTimeout(0)
        releaseHttp(handle)
      }
      queue = []
      // Sent again on a NACK: the libuv handle itself where the socket gave it up.
      pending = { message, handle: detached ?? handle, options, retransmissions, detached }
      const frame = codec.encode(wrapped)
      sendWithFd(typeof frame === 'string' ? Buffer.from(frame) : frame, fd, callback)
      return socket === null ? true : queued(socket) < HIGH_WATER
    }
    if (queue) {
      queue.push({ message, handle: undefined, options, callback })
      return queue.length === 1
    }
    return write(message, options, callback)
  }

  target.channel = control
  // ChildProcess's `_channel`, where the Node it runs under still gives it (DEP0129, dropped in
  // Node 26): `channel`, with Node's warning once.
  if (hasChannelAlias) {
    Object.defineProperty(target, '_channel', { configurable: true, enumerable: false, get: channelAlias, set: channelAliasSet })
  }
  target.connected = true

  target.send = function send(message: unknown, handle?: unknown, options?: unknown, callback?: unknown): boolean {
    if (typeof handle === 'function') {
      callback = handle
      handle = undefined
      options = undefined
    } else if (typeof options === 'function') {
      callback = options
      options = undefined
    } else if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
      throw invalidArgType('options', 'Object', options)
    }
    const opts: Options = { swallowErrors: false, ...(options as object | undefined) }
    if (!target.connected) {
      const ex = ipcChannelClosed()
      if (typeof callback === 'function') process.nextTick(callback as SendCallback, ex)
      else process.nextTick(() => target.emit('error', ex))
      return false
    }
    if (message === undefined) throw missingArgs('message')
    if (!['string', 'object', 'number', 'boolean'].includes(typeof message)) {
      throw invalidArgType('message', ['string', 'object', 'number', 'boolean'], message)
    }
    if (handle !== undefined && handle !== null && typeof handle !== 'object') throw invalidHandleType()
    return sendMessage(message, (handle || undefined) as object | undefined, opts, callback as SendCallback | undefined)
  }

  /**
   * The disconnect itself: our end closed a tick later, then 'disconnect'. `atEnd`: the channel's
   * end was read (the child closed it, or died); only then does the channel count as closed for
   * 'close'. After this process's own disconnect() child_process never counts it, so that
   * child's 'close' never comes (Node 22 to 26 alike), and neither does ours.
   */
  function closeChannel(atEnd: boolean, tell = true): void {
    target.channel = null
    process.nextTick(() => {
      // Our end is closed at once (writes still queued are dropped, as child_process drops
      // them); 'close' waits for it, so it comes after 'disconnect'.
      const wasOpen = open
      open = false
      dropReceived()
      socket?.removeListener('data', onData)
      socket?.destroy()
      if (tell) target.emit('disconnect')
      callCutOff()
      if (wasOpen && atEnd) closed()
    })
  }

  target.disconnect = function disconnect(): void {
    if (!target.connected) {
      target.emit('error', ipcDisconnected())
      return
    }
    target.connected = false
    // Messages waiting behind a handle go first, as child_process lets them.
    if (queue === null) closeChannel(false)
  }

  if (socket === null) {
    // Nothing behind it: the channel ends once the spawn's 'error' is out.
    setImmediate(() => onEnd(true))
    return
  }
  // A descriptor comes with the read (libuv's onread) that holds its message's first byte, before
  // the bytes reach 'data': kept for the NODE_HANDLE message they start. The sender waits for our
  // ACK before it sends another, so there is one at a time.
  const pipe = (socket as unknown as { _handle: PipeHandle | null })._handle
  const onread = pipe?.onread
  if (pipe && onread) {
    pipe.onread = function (this: PipeHandle, ...args: unknown[]) {
      const handle = this.pendingHandle
      if (handle) {
        this.pendingHandle = null
        received?.close?.()
        received = handle
      }
      return onread.apply(this, args)
    }
  }
  socket.on('data', onData)
  socket.once('end', () => onEnd())
  socket.once('close', () => onEnd())
  // Write errors reach send()'s callback or 'error'; the socket's own copy is not fatal.
  socket.on('error', () => {})
}
