import { describe, expect, it, vi } from "vitest";
import { readEventStream, SSEParser, type SSEEvent } from "./sse";

function feedAll(parser: SSEParser, chunks: string[]): SSEEvent[] {
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

describe("SSEParser", () => {
  it("parses one event with id, type and JSON data", () => {
    const events = new SSEParser().feed('id: 12\nevent: progress\ndata: {"percent": 50}\n\n');
    expect(events).toEqual([{ id: "12", event: "progress", data: '{"percent": 50}' }]);
  });

  it("handles chunks split mid-line, mid-field and between \\r and \\n", () => {
    const text = 'id: 7\r\nevent: progress\r\ndata: {"stage":"remix"}\r\n\r\nid: 8\r\nevent: completed\r\ndata: {}\r\n\r\n';
    for (const size of [1, 2, 3, 5, 7, 13]) {
      const parser = new SSEParser();
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(feedAll(parser, chunks)).toEqual([
        { id: "7", event: "progress", data: '{"stage":"remix"}' },
        { id: "8", event: "completed", data: "{}" },
      ]);
    }
  });

  it("joins multi-line data with newlines", () => {
    const events = new SSEParser().feed("data: first\ndata: second\ndata:third\n\n");
    expect(events[0].data).toBe("first\nsecond\nthird");
    expect(events[0].event).toBe("message");
  });

  it("ignores comments and unknown fields, and dispatches nothing without data", () => {
    const parser = new SSEParser();
    expect(parser.feed(": keep-alive\n\n")).toEqual([]);
    expect(parser.feed("event: progress\nfoo: bar\n\n")).toEqual([]);
    const events = parser.feed(": ping\ndata: x\n: another\n\n");
    expect(events).toEqual([{ id: "", event: "message", data: "x" }]);
  });

  it("keeps the last id for later events and for resuming", () => {
    const parser = new SSEParser();
    const events = parser.feed("id: 3\ndata: a\n\ndata: b\n\n");
    expect(events.map((e) => e.id)).toEqual(["3", "3"]);
    expect(parser.lastEventId).toBe("3");
  });

  it("reads retry, strips only one leading space and a BOM", () => {
    const events = new SSEParser().feed("\ufeffretry: 2500\ndata:  two spaces\n\n");
    expect(events[0]).toEqual({ id: "", event: "message", data: " two spaces", retry: 2500 });
  });

  it("does not dispatch an event cut off before its blank line", () => {
    const parser = new SSEParser();
    expect(parser.feed("data: partial\n")).toEqual([]);
    parser.reset();
    expect(parser.feed("data: next\n\n")).toEqual([{ id: "", event: "message", data: "next" }]);
  });
});

function streamOf(chunks: string[], error?: Error): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]));
      else if (error) controller.error(error);
      else controller.close();
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
}

describe("readEventStream", () => {
  it("reconnects after a drop with Last-Event-ID and stops at completed", async () => {
    const opened: string[] = [];
    const open = vi.fn(async (lastEventId: string) => {
      opened.push(lastEventId);
      if (opened.length === 1) return streamOf(["id: 1\nevent: progress\ndata: {}\n\nid: 2\nevent: pro"], new Error("drop"));
      return streamOf(["id: 3\nevent: completed\ndata: {}\n\n", "id: 4\nevent: progress\ndata: {}\n\n"]);
    });
    const seen: string[] = [];
    const controller = new AbortController();
    await readEventStream({
      open,
      signal: controller.signal,
      onEvent: (e) => seen.push(`${e.id}:${e.event}`),
      isDone: (e) => e.event === "completed",
      sleep: async () => undefined,
    });
    expect(opened).toEqual(["", "1"]);
    expect(seen).toEqual(["1:progress", "3:completed"]);
  });

  it("gives up on errors that are not retryable", async () => {
    const controller = new AbortController();
    await expect(
      readEventStream({
        open: async () => {
          throw new Error("404");
        },
        retryable: () => false,
        signal: controller.signal,
        onEvent: () => undefined,
        sleep: async () => undefined,
      }),
    ).rejects.toThrow("404");
  });
});
