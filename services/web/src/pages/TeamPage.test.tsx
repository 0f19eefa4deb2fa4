// @vitest-environment jsdom
// The team page against a fake gateway: members, invitations, API keys (the secret shown
// once), revoke with a confirm step, a member's view; and plan names by id in both languages.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const SECRET = "gp_live_s3cr3t_shown_once";
let role: "owner" | "admin" | "member" = "owner";
let inviteAnswer: "ok" | "plan_limit" = "plan_limit";
const requests: { method: string; url: string; body: unknown }[] = [];
let keys = [
  { id: "k1", name: "shopify-sync", prefix: "gp_live_ab", scopes: ["jobs:read", "jobs:write"], created_at: "2026-01-02T10:00:00Z", last_used_at: null, revoked_at: null },
];

function json(body: unknown, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}
const problem = (status: number, code: string) => json({ status, code, detail: code }, status, "application/problem+json");

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  const body = typeof init.body === "string" ? JSON.parse(init.body) : null;
  requests.push({ method, url, body });
  if (url === "/v1/auth/refresh") return json({ access_token: "A1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/me")
    return json({
      user: { id: "u1", email: "boss@example.com", email_verified: true, created_at: "" },
      team: { id: "t", name: "Shop", personal: false },
      role,
      teams: [],
      credential: "access_token",
      account: { plan: { id: "enterprise", name: "Enterprise", max_batch: 500 }, remaining_images: null, credits: 0 },
    });
  if (url === "/v1/teams/members" && method === "GET")
    return json({
      members: [
        { user_id: "u1", email: "boss@example.com", role: "owner", joined_at: "2026-01-01T00:00:00Z" },
        { user_id: "u2", email: "helper@example.com", role: "member", joined_at: "2026-01-03T00:00:00Z" },
      ],
      invitations: [{ id: "i1", email: "new@example.com", role: "admin", expires_at: "2026-01-10T00:00:00Z" }],
    });
  if (url === "/v1/teams/members" && method === "POST") {
    if (inviteAnswer === "plan_limit") return problem(402, "plan_limit");
    return json({ id: "i2", email: body.email, role: body.role, expires_at: "2026-01-12T00:00:00Z" }, 201);
  }
  if (url === "/v1/api-keys" && method === "GET") return json(keys);
  if (url === "/v1/api-keys" && method === "POST") {
    const key = { id: "k2", name: body.name, prefix: "gp_live_s3", scopes: body.scopes, created_at: "2026-01-05T10:00:00Z", last_used_at: null, revoked_at: null };
    keys = [key, ...keys];
    return json({ ...key, key: SECRET }, 201);
  }
  if (url.startsWith("/v1/api-keys/") && method === "DELETE") return new Response(null, { status: 204 });
  if (url === "/v1/billing/plans")
    return json({
      plans: [
        { id: "free", name: "Free trial", monthly_price_cents: 0, image_price_cents: 0, included_images: 3, max_batch: 3, max_output_px: 2048, api_keys: false, team_members: false, subscription: false },
        { id: "payg", name: "Pay as you go", monthly_price_cents: 0, image_price_cents: 50, included_images: 0, max_batch: 50, max_output_px: 2048, api_keys: false, team_members: false, subscription: false },
        { id: "personal", name: "Personal", monthly_price_cents: 1900, image_price_cents: 0, included_images: 0, max_batch: 50, max_output_px: 3840, api_keys: false, team_members: false, subscription: true },
        { id: "enterprise", name: "Enterprise", monthly_price_cents: 9900, image_price_cents: 0, included_images: 0, max_batch: 500, max_output_px: 3840, api_keys: true, team_members: true, subscription: true },
        { id: "studio", name: "Studio", monthly_price_cents: 4900, image_price_cents: 0, included_images: 0, max_batch: 100, max_output_px: 3840, api_keys: false, team_members: false, subscription: true },
      ],
      packs: [],
    });
  return problem(404, "not_found");
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
const allByTestId = (id: string) => [...document.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

function type(input: HTMLInputElement, value: string) {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

let root: Root | null = null;
const errors: unknown[] = [];

async function mount() {
  const { App } = await import("../App");
  if (root) act(() => root!.unmount());
  const container = document.createElement("div");
  document.body.replaceChildren(container);
  root = createRoot(container);
  await act(async () => root!.render(<App />));
}

async function go(path: string) {
  await act(async () => {
    window.history.pushState({}, "", path);
    window.dispatchEvent(new PopStateEvent("popstate"));
  });
}

beforeAll(() => {
  localStorage.setItem("globalpic.session", "1"); // a session to refresh on load
  window.history.pushState({}, "", "/team");
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args));
});

afterAll(() => {
  if (root) act(() => root!.unmount());
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("the team page", () => {
  it("shows members and keys to an owner; the new key's secret appears once", async () => {
    await mount();
    await waitFor(() => allByTestId("member-row").length === 2, "members");
    expect(byTestId("team-page")).not.toBeNull();
    expect(byTestId("nav-team")!.getAttribute("href")).toBe("/team");
    expect(allByTestId("member-row")[0].textContent).toContain("boss@example.com");
    expect(allByTestId("member-row")[0].textContent).toContain("所有者");
    expect(byTestId("invitation-row")!.textContent).toContain("new@example.com");
    await waitFor(() => allByTestId("api-key-row").length === 1, "keys");
    expect(byTestId("api-key-row")!.textContent).toContain("shopify-sync");
    expect(byTestId("members-note")).toBeNull();

    // Inputs are labelled.
    for (const id of ["invite-email", "api-key-name"]) {
      const input = byTestId(id) as HTMLInputElement;
      expect(document.querySelector(`label[for="${input.id}"]`)?.textContent, id).toBeTruthy();
    }

    // Invite on a plan without members: the way to the plans page.
    await act(async () => type(byTestId("invite-email") as HTMLInputElement, "friend@example.com"));
    await act(async () => byTestId("invite-submit")!.click());
    const upgrade = await waitFor(() => byTestId("upgrade-link") as HTMLAnchorElement, "upgrade link");
    expect(upgrade.getAttribute("href")).toBe("/plans");
    inviteAnswer = "ok";
    await act(async () => byTestId("invite-submit")!.click());
    await waitFor(() => byTestId("invite-sent"), "invitation sent");
    expect(allByTestId("invitation-row")).toHaveLength(2);
    const invite = requests.filter((r) => r.method === "POST" && r.url === "/v1/teams/members").at(-1)!;
    expect(invite.body).toEqual({ email: "friend@example.com", role: "member" });

    // Create a key: read only.
    await act(async () => type(byTestId("api-key-name") as HTMLInputElement, "erp"));
    await act(async () => (byTestId("api-key-scope-jobs:write") as HTMLInputElement).click());
    await act(async () => byTestId("api-key-create")!.click());
    const secret = await waitFor(() => byTestId("api-key-secret") as HTMLInputElement, "secret");
    expect(secret.value).toBe(SECRET);
    expect(secret.readOnly).toBe(true);
    expect(document.body.textContent).toContain("关闭后将无法再次查看");
    expect(byTestId("api-key-copy")!.tagName).toBe("BUTTON");
    const create = requests.find((r) => r.method === "POST" && r.url === "/v1/api-keys")!;
    expect(create.body).toEqual({ name: "erp", scopes: ["jobs:read"] });
    expect(allByTestId("api-key-row")).toHaveLength(2);
    expect(allByTestId("api-key-row").some((row) => row.textContent!.includes(SECRET))).toBe(false);

    // Closed: the secret is gone for good.
    await act(async () => byTestId("api-key-secret-done")!.click());
    expect(byTestId("api-key-secret")).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);

    // Revoke asks first.
    await act(async () => allByTestId("api-key-revoke")[1].click());
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    await act(async () => byTestId("api-key-revoke-confirm")!.click());
    await waitFor(() => requests.some((r) => r.method === "DELETE" && r.url === "/v1/api-keys/k1"), "revoke");
    await waitFor(() => allByTestId("api-key-row")[1].textContent!.includes("已撤销"), "revoked badge");
    expect(allByTestId("api-key-revoke")).toHaveLength(1); // only the new key can still be revoked
  });

  it("shows a member the members only, with a note", async () => {
    role = "member";
    requests.length = 0;
    await mount();
    await waitFor(() => allByTestId("member-row").length === 2, "members");
    expect(byTestId("members-note")!.textContent).toContain("所有者");
    expect(byTestId("invite-email")).toBeNull();
    expect(byTestId("api-key-create")).toBeNull();
    expect(byTestId("member-remove")).toBeNull();
    expect(requests.some((r) => r.url === "/v1/api-keys")).toBe(false);
  });

  it("names the plans by id in the user's language, the API's name for an unknown id", async () => {
    await go("/plans");
    await waitFor(() => allByTestId("plan").length === 5, "plans");
    const names = () => allByTestId("plan").map((p) => p.querySelector("h2")!.textContent!.replace(/当前|Current/, "").trim());
    expect(names()).toEqual(["免费试用", "按张付费", "个人版", "企业版", "Studio"]);
    expect(byTestId("remaining")!.textContent).toContain("企业版");
    await act(async () => byTestId("lang-switch")!.click());
    expect(names()).toEqual(["Free trial", "Pay as you go", "Personal", "Enterprise", "Studio"]);
    expect(byTestId("remaining")!.textContent).toContain("Enterprise");
    localStorage.removeItem("globalpic.lang");
    expect(errors).toEqual([]);
  });
});
