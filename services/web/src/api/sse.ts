// A small Server-Sent Events parser (WHATWG "event stream interpretation") and a reader of
// GET /v1/jobs/{id}/events over fetch: EventSource cannot send the Authorization header.

export interface SSEEvent {
  /** The event type (`event:`), "message" when the event named none. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id seen so far in the stream (`id:`), "" if none. */
  id: string;
  /** `retry:` in milliseconds, when the event carried one. */
  retry?: number;
}

/** Feed it text chunks as they arrive (split anywhere); it returns the events they completed. */
export class SSEParser {
  private buffer = "";
  private data: string[] = [];
  private eventType = "";
  private retry: number | undefined;
  private sawData = false;
  private started = false;
  /** The id buffer: the last `id:` line read (events carry it when dispatched). */
  lastEventId = "";

  feed(chunk: string): SSEEvent[] {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.buffer += chunk;
    const events: SSEEvent[] = [];
    let start = 0;
    for (;;) {
      let end = -1;
      let next = -1;
      for (let i = start; i < this.buffer.length; i++) {
        const c = this.buffer[i];
        if (c === "\n") {
          end = i;
          next = i + 1;
          break;
        }
        if (c === "\r") {
          // "\r\n" split across chunks: wait for the next chunk to tell.
          if (i + 1 === this.buffer.length) break;
          end = i;
          next = this.buffer[i + 1] === "\n" ? i + 2 : i + 1;
          break;
        }
      }
      if (end < 0) break;
      const event = this.line(this.buffer.slice(start, end));
      if (event) events.push(event);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The stream ended: an event without its blank line is dropped (as browsers do). */
  reset(): void {
    this.buffer = "";
    this.data = [];
    this.eventType = "";
    this.retry = undefined;
    this.sawData = false;
  }

  private line(line: string): SSEEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        this.sawData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SSEEvent | null {
    const sawData = this.sawData;
    const event: SSEEvent = {
      event: this.eventType || "message",
      data: this.data.join("\n"),
      id: this.lastEventId,
    };
    if (this.retry !== undefined) event.retry = this.retry;
    this.data = [];
    this.eventType = "";
    this.retry = undefined;
    this.sawData = false;
    return sawData ? event : null;
  }
}

export interface StreamOptions {
  /** Opens the stream; `lastEventId` is "" on the first connection. */
  open: (lastEventId: string, signal: AbortSignal) => Promise<Response>;
  onEvent: (event: SSEEvent) => void;
  /** Return true to stop reading (e.g. after the `completed` event). */
  isDone?: (event: SSEEvent) => boolean;
  signal: AbortSignal;
  /** Called before each reconnect (for a "reconnecting…" hint). */
  onReconnect?: (attempt: number) => void;
  /** Whether an error from `open` is worth retrying (default: always). */
  retryable?: (error: unknown) => boolean;
  maxDelayMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * Reads an event stream until `isDone` says so or the signal aborts; after a drop it reconnects
 * (1 s, 2 s, 4 s … up to `maxDelayMs`) sending the last id seen as `Last-Event-ID`.
 */
export async function readEventStream(options: StreamOptions): Promise<void> {
  const { signal } = options;
  const sleep = options.sleep ?? defaultSleep;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let lastEventId = "";
  let attempt = 0;
  while (!signal.aborted) {
    const parser = new SSEParser();
    parser.lastEventId = lastEventId;
    let retryMs: number | undefined;
    try {
      const response = await options.open(lastEventId, signal);
      if (!response.body) throw new Error("no body");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const events = parser.feed(decoder.decode(value, { stream: true }));
        for (const event of events) {
          lastEventId = event.id;
          if (event.retry !== undefined) retryMs = event.retry;
          attempt = 0;
          options.onEvent(event);
          if (options.isDone?.(event)) {
            await reader.cancel().catch(() => undefined);
            return;
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (options.retryable && !options.retryable(error)) throw error;
    }
    // Resume after the last event delivered (not an id of an event cut off by the drop).
    if (signal.aborted) return;
    attempt += 1;
    options.onReconnect?.(attempt);
    await sleep(retryMs ?? Math.min(maxDelay, 1000 * 2 ** (attempt - 1)), signal);
  }
}
