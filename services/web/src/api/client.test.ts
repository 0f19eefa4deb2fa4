import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, filenameFrom, problemFrom } from "./client";

function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ type: `urn:globalpic:problem:${code}`, title: code, status, detail, code, ...extra }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

type Call = { url: string; init: RequestInit };

function mockFetch(...responses: Response[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error(`unexpected call ${url}`);
    return next;
  });
  return { fn, calls };
}

const auth = (call: Call) => new Headers(call.init.headers).get("Authorization");

describe("problem+json", () => {
  it("becomes an ApiError with code, status, detail and the body", async () => {
    const error = await problemFrom(problem(402, "quota_exceeded", "no images left", { remaining: 0, unlock: ["payg"] }));
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(402);
    expect(error.code).toBe("quota_exceeded");
    expect(error.detail).toBe("no images left");
    expect(error.body.remaining).toBe(0);
  });

  it("falls back to http_<status> for a body that is not a problem", async () => {
    const error = await problemFrom(new Response("Bad gateway", { status: 502, statusText: "Bad Gateway" }));
    expect(error.code).toBe("http_502");
    expect(error.status).toBe(502);
  });

  it("request() throws it", async () => {
    const { fn } = mockFetch(problem(413, "file_too_large", "images[1] is over 20 MB"));
    const client = new ApiClient(fn);
    await expect(client.request("/v1/jobs", { method: "POST" })).rejects.toMatchObject({
      code: "file_too_large",
      status: 413,
      detail: "images[1] is over 20 MB",
    });
  });

  it("a network failure is network_error", async () => {
    const client = new ApiClient(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(client.me()).rejects.toMatchObject({ code: "network_error", status: 0 });
  });
});

describe("tokens", () => {
  it("login posts a form, keeps only the access token, sends it as Bearer", async () => {
    const { fn, calls } = mockFetch(
      json({ access_token: "A1", refresh_token: "R1", token_type: "bearer", expires_in: 900 }),
      json({ role: "owner" }),
    );
    const client = new ApiClient(fn);
    await client.login("me@example.com", "a long password");
    expect(calls[0].url).toBe("/v1/auth/token");
    expect(String(calls[0].init.body)).toBe("username=me%40example.com&password=a+long+password");
    expect(auth(calls[0])).toBeNull();
    expect(client.token).toBe("A1");
    await client.me();
    expect(auth(calls[1])).toBe("Bearer A1");
    expect(JSON.stringify(client)).not.toContain("R1");
  });

  it("401 token_expired → refresh (cookie, {}) → retry once with the new token", async () => {
    const { fn, calls } = mockFetch(
      problem(401, "token_expired", "expired"),
      json({ access_token: "A2", refresh_token: "R2", token_type: "bearer", expires_in: 900 }),
      json({ role: "owner" }),
    );
    const client = new ApiClient(fn);
    client.setToken("A1");
    const me = await client.me();
    expect(me).toEqual({ role: "owner" });
    expect(calls.map((c) => c.url)).toEqual(["/v1/me", "/v1/auth/refresh", "/v1/me"]);
    expect(calls[1].init.credentials).toBe("include");
    expect(calls[1].init.body).toBe("{}");
    expect(auth(calls[2])).toBe("Bearer A2");
    expect(client.token).toBe("A2");
  });

  it("retries only once: a second token_expired is thrown", async () => {
    const { fn, calls } = mockFetch(
      problem(401, "token_expired", "expired"),
      json({ access_token: "A2", token_type: "bearer", expires_in: 900 }),
      problem(401, "token_expired", "still expired"),
    );
    const client = new ApiClient(fn);
    client.setToken("A1");
    await expect(client.me()).rejects.toMatchObject({ code: "token_expired" });
    expect(calls).toHaveLength(3);
  });

  it("a failed refresh signs out and throws the original error", async () => {
    const { fn } = mockFetch(problem(401, "token_expired", "expired"), problem(401, "token_reused", "spent"));
    const client = new ApiClient(fn);
    client.setToken("A1");
    const changes: (string | null)[] = [];
    client.onTokenChange((token) => changes.push(token));
    await expect(client.me()).rejects.toMatchObject({ code: "token_expired" });
    expect(client.token).toBeNull();
    expect(changes).toEqual([null]);
  });

  it("other 401s are not refreshed", async () => {
    const { fn, calls } = mockFetch(problem(401, "token_invalid", "unknown"));
    const client = new ApiClient(fn);
    client.setToken("A1");
    await expect(client.me()).rejects.toMatchObject({ code: "token_invalid" });
    expect(calls).toHaveLength(1);
  });

  it("concurrent refreshes share one call (a refresh token is spent once)", async () => {
    const { fn, calls } = mockFetch(json({ access_token: "A3", token_type: "bearer", expires_in: 900 }));
    const client = new ApiClient(fn);
    const [a, b] = await Promise.all([client.refresh(), client.refresh()]);
    expect(a && b).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it("logout posts with the token and forgets it", async () => {
    const { fn, calls } = mockFetch(new Response(null, { status: 204 }));
    const client = new ApiClient(fn);
    client.setToken("A1");
    await client.logout();
    expect(calls[0].url).toBe("/v1/auth/logout");
    expect(auth(calls[0])).toBe("Bearer A1");
    expect(client.token).toBeNull();
  });

  it("job events send Last-Event-ID when resuming", async () => {
    const { fn, calls } = mockFetch(new Response("", { status: 200 }));
    const client = new ApiClient(fn);
    client.setToken("A1");
    await client.jobEvents("abc", "42", new AbortController().signal);
    const headers = new Headers(calls[0].init.headers);
    expect(calls[0].url).toBe("/v1/jobs/abc/events");
    expect(headers.get("Last-Event-ID")).toBe("42");
    expect(headers.get("Accept")).toBe("text/event-stream");
  });
});

describe("filenameFrom", () => {
  it("prefers the UTF-8 filename*", () => {
    expect(filenameFrom(`attachment; filename="000_mug.png"; filename*=UTF-8''000_%E6%9D%AF%E5%AD%90.png`)).toBe("000_杯子.png");
    expect(filenameFrom('attachment; filename="results.zip"')).toBe("results.zip");
    expect(filenameFrom(null)).toBeNull();
  });
});


describe("the session hint", () => {
  function memory(): Pick<Storage, "getItem" | "setItem" | "removeItem"> {
    const values = new Map<string, string>();
    return {
      getItem: (k) => values.get(k) ?? null,
      setItem: (k, v) => void values.set(k, v),
      removeItem: (k) => void values.delete(k),
    };
  }

  it("is set by a sign-in and cleared by a sign-out, so a first visit asks no refresh", async () => {
    const hints = memory();
    const fn = vi.fn(async (url: string) =>
      url.endsWith("/v1/auth/token")
        ? new Response(JSON.stringify({ access_token: "a", refresh_token: "r", token_type: "bearer", expires_in: 900 }), { status: 200 })
        : new Response(null, { status: 204 }),
    );
    const client = new ApiClient(fn, "", hints);
    expect(client.mayHaveSession()).toBe(false);
    await client.login("me@example.com", "pw");
    expect(client.mayHaveSession()).toBe(true);
    await client.logout();
    expect(client.mayHaveSession()).toBe(false);
  });
});
