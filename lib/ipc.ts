// The IPC channel of a child spawned with 'ipc' in its stdio (fork() always has one): a socket
// pair as the package's pipes are, our end a net.Socket, the child's end announced to it in
// NODE_CHANNEL_FD, as child_process announces it, so a Node child's process.send(),
// process.on('message') and process.disconnect() talk to it. The messages are framed as
// child_process frames them (NODE_CHANNEL_SERIALIZATION_MODE):
//   json      one JSON text per message, ended by '\n';
//   advanced  a 4-byte big-endian length, then the v8 serialization of the message, with the
//             host-object rule of child_process (a tag 0 before an ArrayBufferView, written by
//             v8; a tag 1 before any other host object, written as a plain object).
// Handles (sockets, servers) ride on SCM_RIGHTS in Node's protocol; this channel cannot carry
// them: sending one throws ERR_PIDFD_UNSUPPORTED, and one the child sends is refused with the
// NACK Node's own parent sends when a handle goes missing.

import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import net, { type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { DefaultDeserializer, DefaultSerializer } from 'node:v8'

import { invalidArgType, invalidHandleType, ipcChannelClosed, ipcDisconnected, missingArgs, systemError, unsupported } from './errors.js'

export type Serialization = 'json' | 'advanced'

/** As child_process: send() says false once this many bytes wait to be written. */
const HIGH_WATER = 65536 * 2

interface Codec {
  /** The messages complete in the bytes read so far. */
  decode(chunk: Buffer): unknown[]
  /** Part of a message is read, not all. */
  buffering(): boolean
  encode(message: unknown): Buffer | string
}

function jsonCodec(): Codec {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  return {
    decode(chunk) {
      const lines = (partial + decoder.write(chunk)).split('\n')
      partial = lines.pop()!
      return lines.map((line) => JSON.parse(line) as unknown)
    },
    buffering: () => partial.length > 0,
    encode: (message) => `${JSON.stringify(message)}\n`,
  }
}

const VIEW = 0
const OTHER = 1

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
  let pending: Buffer = Buffer.alloc(0)
  return {
    decode(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      const messages: unknown[] = []
      while (pending.length >= 4) {
        const end = 4 + pending.readUInt32BE(0)
        if (pending.length < end) break
        const reader = new Deserializer(pending.subarray(4, end))
        reader.readHeader()
        messages.push(reader.readValue())
        pending = pending.subarray(end)
      }
      return messages
    },
    buffering: () => pending.length > 0,
    encode(message) {
      const writer = new Serializer()
      writer.writeHeader()
      writer.writeValue(message)
      const body = writer.releaseBuffer()
      const frame = Buffer.allocUnsafe(4 + body.length)
      frame.writeUInt32BE(body.length, 0)
      body.copy(frame, 4)
      return frame
    },
  }
}

/** Messages child_process keeps to itself ('internalMessage'): a `cmd` starting with NODE_. */
function isInternal(message: unknown): message is { cmd: string } {
  const cmd = (message as { cmd?: unknown } | null)?.cmd
  return typeof message === 'object' && typeof cmd === 'string' && cmd.length > 5 && cmd.startsWith('NODE_')
}

/** What child_process could pass as a handle: refused here (see the top of this file). */
function isHandle(handle: object): boolean {
  if (handle instanceof net.Socket || handle instanceof net.Server || handle instanceof dgram.Socket) return true
  // The native handles themselves (TCP, Pipe, UDP), as child_process also takes them.
  const name = (handle as { constructor?: { name?: unknown } }).constructor?.name
  return name === 'TCP' || name === 'Pipe' || name === 'UDP'
}

export type SendCallback = (error: Error | null) => void

/** The subprocess side of a channel: what setupChannel puts on it. */
export interface ChannelTarget extends EventEmitter {
  connected: boolean
  channel: Channel | null | undefined
  send?: (message: unknown, sendHandle?: unknown, options?: unknown, callback?: unknown) => boolean
  disconnect?: () => void
}

/**
 * `subprocess.channel`: ref() and unref() of the channel (a connected channel keeps the event
 * loop alive, as child_process's does; unref() lets the process exit while it is open), and its
 * descriptor.
 */
export class Channel extends EventEmitter {
  readonly #socket: Socket | null

  /** @internal */
  constructor(socket: Socket | null) {
    super()
    this.#socket = socket
  }

  /** Keep the event loop alive while the channel is open (the default). */
  ref(): void {
    this.#socket?.ref()
  }

  /** Let the event loop end while the channel is open. */
  unref(): void {
    this.#socket?.unref()
  }

  /** Our end's descriptor. */
  get fd(): number | undefined {
    const fd = (this.#socket as { _handle?: { fd?: number } } | null)?._handle?.fd
    return typeof fd === 'number' && fd >= 0 ? fd : undefined
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
  let warned = false

  const release = () => {
    if (!open) return
    open = false
    socket?.removeListener('data', onData)
    socket?.destroy()
    closed()
  }

  function emit(event: string, message: unknown): void {
    if (event === 'internalMessage' || target.listenerCount('message') > 0) target.emit(event, message, undefined)
    else unheard.push([event, message, undefined])
  }

  function deliver(message: unknown): void {
    if (!target.channel) return
    const internal = isInternal(message)
    if (internal && message.cmd === 'NODE_HANDLE') {
      // The handle could not come with it (see the top of this file): refused, as child_process
      // refuses a handle that went missing; the child retries, then gives up with a warning.
      if (!warned) {
        warned = true
        process.emitWarning('The child sent a handle over IPC: pidfd cannot receive handles, the message was refused', {
          code: 'ERR_PIDFD_UNSUPPORTED',
        })
      }
      write({ cmd: 'NODE_HANDLE_NACK' }, { swallowErrors: true }, undefined)
      return
    }
    process.nextTick(emit, internal ? 'internalMessage' : 'message', message)
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

  function onEnd(): void {
    if (!open) return
    // As child_process at the end of the channel: disconnect (if not already), then our end is
    // done with ('close' may come before the 'disconnect' of the next tick, as there).
    if (target.connected) target.disconnect!()
    target.channel = null
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

  function write(message: unknown, options: { swallowErrors?: boolean }, callback: SendCallback | undefined): boolean {
    const frame = codec.encode(message)
    const failed = (err: Error) => {
      if (typeof callback === 'function') callback(err)
      else if (!options.swallowErrors) target.emit('error', err)
    }
    if (socket === null || socket.destroyed) {
      process.nextTick(failed, systemError('EPIPE', 'write'))
      return true
    }
    // As child_process: a write the kernel refuses at once (EPIPE: the child is gone) is an error,
    // for the callback or else 'error' (net destroys the socket there and then); one that fails
    // later, queued (the channel closed, ECONNRESET), is not reported: the callback gets null.
    let refused = false
    socket.write(frame, (err) => {
      if (err && refused) failed(err)
      else if (typeof callback === 'function') callback(null)
    })
    refused = socket.destroyed
    return queued(socket) < HIGH_WATER
  }

  target.channel = control
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
    const opts = { swallowErrors: false, ...(options as object | undefined) }
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
    if (handle) {
      if (typeof handle === 'object' && isHandle(handle)) throw unsupported('Sending a handle over IPC (sendHandle)')
      throw invalidHandleType()
    }
    return write(message, opts, callback as SendCallback | undefined)
  }

  target.disconnect = function disconnect(): void {
    if (!target.connected) {
      target.emit('error', ipcDisconnected())
      return
    }
    target.connected = false
    target.channel = null
    const finish = () => {
      // Our end is closed at once (writes still queued are dropped, as child_process drops
      // them); 'close' waits for it, so it comes after 'disconnect'.
      const wasOpen = open
      open = false
      socket?.removeListener('data', onData)
      socket?.destroy()
      target.emit('disconnect')
      if (wasOpen) closed()
    }
    process.nextTick(finish)
  }

  if (socket === null) {
    // Nothing behind it: the channel ends once the spawn's 'error' is out.
    setImmediate(onEnd)
    return
  }
  socket.on('data', onData)
  socket.once('end', onEnd)
  socket.once('close', onEnd)
  // Write errors reach send()'s callback or 'error'; the socket's own copy is not fatal.
  socket.on('error', () => {})
}
