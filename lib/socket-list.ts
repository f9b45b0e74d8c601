// What a server's sockets sent over IPC still count for: child_process's protocol for them, with
// the same messages (NODE_SOCKET_*), so either end can be Node's own.
//
// The sender (a parent whose server accepted the socket): the server's connection count drops
// by one per socket sent, and the channel is set up as one of the server's "workers":
// getConnections() asks the child how many of them are still open (NODE_SOCKET_GET_COUNT, answered
// by NODE_SOCKET_COUNT), and close() waits for the child to have closed them all
// (NODE_SOCKET_NOTIFY_CLOSE, answered by NODE_SOCKET_ALL_CLOSED once they are).
// The receiver: counts the sockets received for a server key, and answers those two questions.

import { EventEmitter } from 'node:events'

import { childClosedBeforeReply } from './errors.js'

/** The channel's side of a subprocess as the lists use it. */
export interface ListTarget extends EventEmitter {
  connected: boolean
}

/** Writes a NODE_SOCKET_* message on the channel, in turn with the other messages. */
export type Post = (message: Record<string, unknown>, swallowErrors: boolean) => void

interface Internal {
  cmd?: unknown
  key?: unknown
  count?: unknown
}

/** The sender's list: a worker of the server whose sockets went to the child. */
export class SocketListSend extends EventEmitter {
  readonly key: string
  readonly #target: ListTarget
  readonly #post: Post

  constructor(target: ListTarget, key: string, post: Post) {
    super()
    this.key = key
    this.#target = target
    this.#post = post
    target.once('exit', () => this.emit('exit', this))
  }

  #request(message: Record<string, unknown>, reply: string, swallowErrors: boolean, callback: (err: Error | null, message?: Internal) => void): void {
    const target = this.#target
    const onClose = () => {
      target.removeListener('internalMessage', onReply)
      callback(childClosedBeforeReply())
    }
    const onReply = (answer: Internal) => {
      if (answer?.cmd !== reply || answer.key !== this.key) return
      target.removeListener('disconnect', onClose)
      target.removeListener('internalMessage', onReply)
      callback(null, answer)
    }
    if (!target.connected) {
      onClose()
      return
    }
    this.#post(message, swallowErrors)
    target.once('disconnect', onClose)
    target.on('internalMessage', onReply)
  }

  /** Called by the server's close(): once the child has closed every socket it was sent. */
  close(callback: (err: Error | null) => void): void {
    this.#request({ cmd: 'NODE_SOCKET_NOTIFY_CLOSE', key: this.key }, 'NODE_SOCKET_ALL_CLOSED', true, callback)
  }

  /** Called by the server's getConnections(): how many of those sockets are still open. */
  getConnections(callback: (err: Error | null, count?: number) => void): void {
    this.#request({ cmd: 'NODE_SOCKET_GET_COUNT', key: this.key }, 'NODE_SOCKET_COUNT', false, (err, answer) => {
      if (err) callback(err)
      else callback(null, answer?.count as number)
    })
  }
}

/** The receiver's list: the sockets of one server key that came over the channel, while open. */
export class SocketListReceive extends EventEmitter {
  readonly key: string
  connections = 0

  constructor(target: ListTarget, key: string, post: Post) {
    super()
    this.key = key
    const allClosed = () => {
      if (target.connected) post({ cmd: 'NODE_SOCKET_ALL_CLOSED', key: this.key }, true)
    }
    target.on('internalMessage', (message: Internal) => {
      if (message?.key !== this.key) return
      if (message.cmd === 'NODE_SOCKET_NOTIFY_CLOSE') {
        if (this.connections === 0) allClosed()
        else this.once('empty', allClosed)
      } else if (message.cmd === 'NODE_SOCKET_GET_COUNT') {
        if (target.connected) post({ cmd: 'NODE_SOCKET_COUNT', key: this.key, count: this.connections }, false)
      }
    })
  }

  /** A socket received: counted until it closes. */
  add(socket: EventEmitter): void {
    this.connections++
    socket.once('close', () => {
      if (--this.connections === 0) this.emit('empty', this)
    })
  }
}
