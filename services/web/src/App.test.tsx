// @vitest-environment jsdom
// The app end to end against a fake gateway: sign in, upload, quota error, job results.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const JOB = {
  id: "job1",
  status: "completed",
  created_at: "2026-01-05T10:00:00Z",
  updated_at: "2026-01-05T10:00:05Z",
  finished_at: "2026-01-05T10:00:05Z",
  options: { ops: ["clean", "extract", "remix", "resize", "copy"], style: "amazon-white", platform: "amazon", candidates: 2 },
  image_count: 1,
  counts: { queued: 0, running: 0, completed: 1, failed: 0 },
  links: { self: "/v1/jobs/job1", events: "/v1/jobs/job1/events", results_zip: "/v1/jobs/job1/results.zip" },
  images: [
    {
      index: 0,
      filename: "杯子.jpg",
      state: "completed",
      stage: "done",
      percent: 100,
      cached: false,
      attempts: 1,
      width: 800,
      height: 800,
      outputs: [
        { candidate: 1, url: "/v1/jobs/job1/images/0/result?candidate=1", content_type: "image/png" },
        { candidate: 2, url: "/v1/jobs/job1/images/0/result?candidate=2", content_type: "image/png" },
      ],
      checks: [{ rule: "white_background", passed: true, message: "white" }],
      report: {
        input: "杯子.jpg",
        copy: {
          platform: "amazon",
          variants: [
            { title: "Ceramic Mug", bullets: ["Holds 350 ml"], description: "", meta_description: "", search_terms: "mug", caption: "", hashtags: [], explanation_zh: "简洁" },
          ],
          passed: true,
        },
      },
      error: null,
    },
  ],
};

let quota = true;
const requests: { method: string; url: string; auth: string | null }[] = [];

function json(body: unknown, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  requests.push({ method, url, auth: new Headers(init.headers).get("Authorization") });
  if (url === "/v1/auth/refresh") return json({ code: "unauthorized", detail: "no session", status: 401 }, 401, "application/problem+json");
  if (url === "/v1/auth/token") return json({ access_token: "A1", refresh_token: "R1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/me")
    return json({
      user: { id: "u", email: "me@example.com", email_verified: true, created_at: "" },
      team: { id: "t", name: "me", personal: true },
      role: "owner",
      teams: [],
      credential: "access_token",
      account: { plan: { id: "free", name: "Free", max_batch: 2 }, remaining_images: 3, credits: 0 },
    });
  if (url === "/v1/styles") return json([{ id: "amazon-white", name_en: "White", name_zh: "纯白" }]);
  if (url === "/v1/platforms") return json([{ id: "amazon", name: "Amazon", width: 2000, height: 2000 }]);
  if (url === "/v1/jobs" && method === "POST") {
    if (quota) {
      quota = false;
      return json({ code: "quota_exceeded", status: 402, detail: "no images left", remaining: 0 }, 402, "application/problem+json");
    }
    return json(JOB, 202);
  }
  if (url === "/v1/jobs/job1") return json(JOB);
  if (url.startsWith("/v1/jobs/job1/images/")) return new Response(new Blob(["png"], { type: "image/png" }));
  return json({ code: "not_found", status: 404, detail: url }, 404, "application/problem+json");
}

async function waitFor<T>(find: () => T | null | undefined, what: string): Promise<T> {
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
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  let n = 0;
  URL.createObjectURL = () => `blob:test/${n++}`;
  URL.revokeObjectURL = () => undefined;
  vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args));
});

afterAll(() => {
  act(() => root.unmount());
  vi.unstubAllGlobals();
});

describe("the app", () => {
  it("signs in, uploads, shows the quota upgrade path, then the job's results", async () => {
    const { App } = await import("./App");
    const container = document.createElement("div");
    document.body.appendChild(container);
    root = createRoot(container);
    await act(async () => root.render(<App />));

    // No session: the sign-in page, in Chinese by default.
    const email = await waitFor(() => byTestId("login-email") as HTMLInputElement, "login form");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(byTestId("signup-link")).not.toBeNull();
    await act(async () => {
      type(email, "me@example.com");
      type(byTestId("login-password") as HTMLInputElement, "a long password");
    });
    await act(async () => byTestId("login-submit")!.click());

    // Upload page.
    const input = await waitFor(() => byTestId("upload-input") as HTMLInputElement, "upload page");
    expect(input.accept).toBe("image/jpeg,image/png,image/webp");
    expect(input.multiple).toBe(true);
    expect(byTestId("remaining")!.textContent).toContain("3");
    const files = ["a.jpg", "b.png", "c.webp"].map((name) => new File(["x"], name, { type: name.endsWith("jpg") ? "image/jpeg" : `image/${name.split(".")[1]}` }));
    Object.defineProperty(input, "files", { value: files, configurable: true });
    await act(async () => input.dispatchEvent(new Event("change", { bubbles: true })));
    expect(document.querySelectorAll('[data-testid="thumbnail"]')).toHaveLength(2); // max_batch 2
    const ops = ["clean", "extract", "remix", "resize", "copy"].map((op) => (byTestId(`op-${op}`) as HTMLInputElement).checked);
    expect(ops).toEqual([true, true, true, true, false]);
    await act(async () => byTestId("remove-file")!.click());
    expect(document.querySelectorAll('[data-testid="thumbnail"]')).toHaveLength(1);

    // 402: a clear way to the plans page.
    await act(async () => byTestId("start-button")!.click());
    const upgrade = await waitFor(() => byTestId("upgrade-link") as HTMLAnchorElement, "upgrade link");
    expect(upgrade.getAttribute("href")).toBe("/plans");
    expect(byTestId("error")!.textContent).toContain("免费额度已用完");

    // English, remembered.
    await act(async () => byTestId("lang-switch")!.click());
    expect(document.documentElement.lang).toBe("en");
    expect(localStorage.getItem("globalpic.lang")).toBe("en");
    expect(byTestId("start-button")!.textContent).toBe("Start");

    // Submit again: the job page with results.
    await act(async () => byTestId("start-button")!.click());
    await waitFor(() => document.querySelector('[data-testid="result-image"]'), "result image");
    expect(window.location.pathname).toBe("/jobs/job1");
    expect(document.querySelectorAll('[data-testid="progress"]')).toHaveLength(1);
    expect(byTestId("progress")!.textContent).toContain("100 %");
    await waitFor(() => document.querySelectorAll('[data-testid="candidate"] img').length === 2, "candidates");
    expect(byTestId("compare-slider")).not.toBeNull();
    expect(byTestId("download-zip")).not.toBeNull();
    expect(byTestId("copy-variant")!.textContent).toContain("Ceramic Mug");

    const post = requests.filter((r) => r.method === "POST" && r.url === "/v1/jobs");
    expect(post.every((r) => r.auth === "Bearer A1")).toBe(true);
    expect(errors).toEqual([]);
  });
});
