// @vitest-environment jsdom
// Accepting an invitation: signed out → sign in → back to the link → accept → the new
// session's access token is used (the refresh token of the body is ignored) → the upload page.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const requests: { method: string; url: string; auth: string | null }[] = [];
let team = "personal";

function json(body: unknown, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  const auth = new Headers(init.headers).get("Authorization");
  requests.push({ method, url, auth });
  if (url === "/v1/auth/refresh") return json({ code: "unauthorized", status: 401, detail: "no session" }, 401, "application/problem+json");
  if (url === "/v1/auth/token") return json({ access_token: "A1", refresh_token: "R1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/teams/invitations/bad/accept")
    return json({ code: "token_invalid", status: 401, detail: "unknown invitation" }, 401, "application/problem+json");
  if (url === "/v1/teams/invitations/tok%2F1/accept" && method === "POST") {
    team = "shop";
    return json({ access_token: "A2", refresh_token: "R2", token_type: "bearer", expires_in: 900 });
  }
  if (url === "/v1/me")
    return json({
      user: { id: "u", email: "me@example.com", email_verified: true, created_at: "" },
      team: { id: team, name: team, personal: team === "personal" },
      role: team === "shop" ? "member" : "owner",
      teams: [],
      credential: "access_token",
      account: null,
    });
  if (url === "/v1/styles" || url === "/v1/platforms") return json([]);
  return json({ code: "not_found", status: 404, detail: url }, 404, "application/problem+json");
}

async function waitFor<T>(find: () => T | null | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = find();
    if (found) return found;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
  }
  throw new Error(`timed out waiting for ${what}: ${document.body.innerHTML.slice(0, 2000)}`);
}

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

function type(input: HTMLInputElement, value: string) {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

let root: Root;
const errors: unknown[] = [];

beforeAll(() => {
  localStorage.clear();
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args));
});

afterAll(() => {
  act(() => root.unmount());
  vi.unstubAllGlobals();
});

async function go(path: string) {
  await act(async () => {
    window.history.pushState({}, "", path);
    window.dispatchEvent(new PopStateEvent("popstate"));
  });
}

describe("the invitation link", () => {
  it("signs in first, then accepts and acts in the new team", async () => {
    window.history.pushState({}, "", "/invitations/tok%2F1");
    const { App } = await import("../App");
    const { api } = await import("../api/client");
    const container = document.createElement("div");
    document.body.appendChild(container);
    root = createRoot(container);
    await act(async () => root.render(<App />));

    // Signed out: the sign-in page, which comes back here.
    const email = await waitFor(() => byTestId("login-email") as HTMLInputElement, "login form");
    expect(window.location.pathname).toBe("/login");
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/invitations/tok%2F1");
    await act(async () => {
      type(email, "me@example.com");
      type(byTestId("login-password") as HTMLInputElement, "a long password");
    });
    await act(async () => byTestId("login-submit")!.click());

    const accept = await waitFor(() => byTestId("invitation-accept"), "invitation page");
    expect(accept.tagName).toBe("BUTTON");
    expect(api.token).toBe("A1");
    await act(async () => accept.click());

    await waitFor(() => window.location.pathname === "/", "upload page");
    expect(api.token).toBe("A2"); // the pair's access token, as on sign-in
    const post = requests.find((r) => r.url === "/v1/teams/invitations/tok%2F1/accept")!;
    expect(post.method).toBe("POST");
    expect(post.auth).toBe("Bearer A1");
    const lastMe = requests.filter((r) => r.url === "/v1/me").at(-1)!;
    expect(lastMe.auth).toBe("Bearer A2");
    expect(JSON.stringify(requests)).not.toContain("R2");
  });

  it("says so when the link is invalid", async () => {
    await go("/invitations/bad");
    await act(async () => (await waitFor(() => byTestId("invitation-accept"), "invitation page")).click());
    const error = await waitFor(() => byTestId("error"), "error");
    expect(error.textContent).toContain("邀请链接无效");
    const { api } = await import("../api/client");
    expect(api.token).toBe("A2"); // still signed in
    expect(errors).toEqual([]);
  });
});
