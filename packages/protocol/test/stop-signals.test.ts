import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { catchStopSignals, type SignalSource } from '../src/stop-signals.js'

/** An emitter standing in for `process`: the test sends the signals, nothing is sent to this process. */
function fakeProcess(): SignalSource & EventEmitter {
  return new EventEmitter() as SignalSource & EventEmitter
}

describe('catchStopSignals', () => {
  it('aborts its signal on the first SIGINT or SIGTERM, with the signal name as the reason', () => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      const source = fakeProcess()
      const caught = catchStopSignals({ source, onSecondSignal: () => {} })
      expect(caught.signal.aborted).toBe(false)
      source.emit(name, name)
      expect(caught.signal.aborted).toBe(true)
      expect(caught.signal.reason).toBe(name)
      caught.release()
    }
  })

  it('hands a second signal, of either kind, to onSecondSignal', () => {
    const source = fakeProcess()
    const seconds: string[] = []
    const caught = catchStopSignals({ source, onSecondSignal: (signal) => seconds.push(signal) })
    source.emit('SIGTERM', 'SIGTERM')
    expect(seconds).toEqual([])
    source.emit('SIGINT', 'SIGINT')
    expect(seconds).toEqual(['SIGINT'])
    expect(caught.signal.reason).toBe('SIGTERM')
    caught.release()
  })

  it('stops listening once released', () => {
    const source = fakeProcess()
    const caught = catchStopSignals({ source, onSecondSignal: () => {} })
    expect(source.listenerCount('SIGINT')).toBe(1)
    expect(source.listenerCount('SIGTERM')).toBe(1)
    caught.release()
    expect(source.listenerCount('SIGINT')).toBe(0)
    expect(source.listenerCount('SIGTERM')).toBe(0)
    source.emit('SIGTERM', 'SIGTERM')
    expect(caught.signal.aborted).toBe(false)
  })
})
