// @vitest-environment jsdom
// The brush editor against a fake gateway: paint "erase" with the pointer and "protect" with
// the keyboard over the original, undo, and run clean again: a mask is sent for each mode
// painted, drawn white on black at the original's size (scaled down for a very large photo);
// a refused mask shows its error in the user's language. jsdom has no canvas to encode a PNG
// with: the encoder is replaced by one whose "PNG" lists its size and what was drawn on it.
import { act } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { blobBytes, byTestId, go, json, mountApp, pointer, problem, seriousViolations, stubCanvas, type, waitFor, stubBlobUrls, keepConsoleErrors, cleanUpApp } from "../test/harness";

vi.mock("../lib/canvasPng", async () => {
  const { FakeContext } = await import("../lib/fakeContext");
  return {
    canvasPng: async (width: number, height: number, draw: (context: InstanceType<typeof FakeContext>) => void) => {
      const context = new FakeContext();
      draw(context);
      return new Blob([JSON.stringify({ width, height, calls: context.calls })], { type: "image/png" });
    },
  };
});

/** A mask part of the form: its type, and the size and drawing calls of its canvas. */
async function maskPart(form: FormData, name: string) {
  const part = form.get(name) as File;
  const drawn = JSON.parse(new TextDecoder().decode(await blobBytes(part))) as { width: number; height: number; calls: string[] };
  return { type: part.type, filename: part.name, ...drawn };
}

const ORIGINAL = { width: 400, height: 300 };
// the canvas is shown at half the original's size
const SHOWN = { left: 10, top: 20, width: 200, height: 150 };

const JOB = {
  id: "job1",
  status: "completed",
  created_at: "2026-01-05T10:00:00Z",
  updated_at: "2026-01-05T10:00:05Z",
  finished_at: "2026-01-05T10:00:05Z",
  options: { ops: ["clean"], style: null, platform: null, candidates: 1 },
  image_count: 1,
  counts: {},
  links: { self: "/v1/jobs/job1", events: "/v1/jobs/job1/events", results_zip: "/v1/jobs/job1/results.zip" },
  images: [{ index: 0, filename: "杯子.jpg", state: "completed", stage: "done", percent: 100, cached: false, outputs: [], checks: [], report: null, error: null }],
};

const requests: { method: string; url: string; body: unknown; auth: string | null }[] = [];
let cleanAnswers = ["bad_mask", "ok"];

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  requests.push({ method, url, body: init.body, auth: new Headers(init.headers).get("Authorization") });
  if (url === "/v1/auth/refresh") return json({ access_token: "A1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/me")
    return json({
      user: { id: "u", email: "me@example.com", email_verified: true, created_at: "" },
      team: { id: "t", name: "me", personal: true },
      role: "owner",
      teams: [],
      credential: "access_token",
      account: null,
    });
  if (url === "/v1/jobs/job1") return json(JOB);
  if (url === "/v1/jobs/job3") return json({ ...JOB, id: "job3", rerun_of: { job_id: "job1", image: 0 } });
  if (url === "/v1/jobs/job1/images/0/original") return new Response(new Blob(["jpeg"], { type: "image/jpeg" }));
  if (url === "/v1/jobs/job1/images/0/clean" && method === "POST") {
    if (cleanAnswers.shift() === "bad_mask") return problem(422, "bad_mask", "mask: not readable");
    return json({ ...JOB, id: "job3", rerun_of: { job_id: "job1", image: 0 } }, 202);
  }
  return problem(404, "not_found", url);
}

const errors: unknown[] = [];

beforeAll(() => {
  localStorage.setItem("globalpic.session", "1");
  window.history.pushState({}, "", "/jobs/job1/images/0/edit");
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  stubCanvas();
  stubBlobUrls();
  keepConsoleErrors(errors);
});

afterAll(cleanUpApp);

describe("the edit page", () => {
  it("paints erase and protect masks over the original and runs clean again", async () => {
    await mountApp();
    const original = await waitFor(() => byTestId<HTMLImageElement>("brush-original"), "original");
    expect(requests.find((r) => r.url === "/v1/jobs/job1/images/0/original")!.auth).toBe("Bearer A1");
    // the photo loads: its natural size is the masks' size
    Object.defineProperty(original, "naturalWidth", { value: ORIGINAL.width });
    Object.defineProperty(original, "naturalHeight", { value: ORIGINAL.height });
    await act(async () => original.dispatchEvent(new Event("load")));
    await waitFor(() => document.body.textContent!.includes("400 × 300"), "mask size");

    const canvas = byTestId<HTMLCanvasElement>("brush-canvas")!;
    canvas.getBoundingClientRect = () => ({ ...SHOWN, x: SHOWN.left, y: SHOWN.top, right: 210, bottom: 170, toJSON: () => "" });
    const submit = byTestId<HTMLButtonElement>("clean-submit")!;
    expect(submit.disabled).toBe(true); // nothing painted yet
    expect(byTestId("brush-mode-erase")!.getAttribute("aria-pressed")).toBe("true");

    // Brush 20 screen px on a canvas shown at half size: radius 20 in the original.
    await act(async () => type(byTestId<HTMLInputElement>("brush-size")!, "20"));
    // Erase: a horizontal stroke from (40, 40) to (120, 40) of the original.
    await act(async () => {
      pointer(canvas, "pointerdown", SHOWN.left + 20, SHOWN.top + 20);
      pointer(canvas, "pointermove", SHOWN.left + 40, SHOWN.top + 20);
      pointer(canvas, "pointermove", SHOWN.left + 60, SHOWN.top + 20);
      pointer(canvas, "pointerup", SHOWN.left + 60, SHOWN.top + 20);
    });
    expect(canvas.getAttribute("aria-label")).toContain("1");

    // Protect, by keyboard: the brush starts in the middle (200, 150); Space dabs there.
    await act(async () => byTestId("brush-mode-protect")!.click());
    expect(byTestId("brush-mode-protect")!.getAttribute("aria-pressed")).toBe("true");
    await act(async () => canvas.focus());
    await act(async () => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: " ", bubbles: true })));
    // a stray dab, undone
    await act(async () => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true })));
    await act(async () => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })));
    expect(canvas.getAttribute("aria-label")).toContain("3");
    await act(async () => byTestId("brush-undo")!.click());
    expect(canvas.getAttribute("aria-label")).toContain("2");

    expect(await seriousViolations()).toEqual([]);

    // Refused first: the problem in Chinese.
    await act(async () => submit.click());
    await waitFor(() => byTestId("error"), "the problem");
    expect(byTestId("error")!.textContent).toBe("画笔遮罩无法使用，请重新涂抹。");

    await act(async () => byTestId("clean-submit")!.click());
    await waitFor(() => window.location.pathname === "/jobs/job3", "the new job");
    await waitFor(() => byTestId("rerun-of"), "the new job's page");

    const clean = requests.filter((r) => r.url === "/v1/jobs/job1/images/0/clean").at(-1)!;
    expect(clean.method).toBe("POST");
    const form = clean.body as FormData;
    const mask = await maskPart(form, "mask");
    const keep = await maskPart(form, "keep_mask");
    expect([mask.type, mask.filename, keep.type, keep.filename]).toEqual(["image/png", "mask.png", "image/png", "keep_mask.png"]);
    // at the original's size: black, then the strokes in white in the original's pixels
    const background = ["setTransform(1, 0, 0, 1, 0, 0)", "fillRect(0, 0, 400, 300, #000)", "setTransform(1, 0, 0, 1, 0, 0)"];
    expect([mask.width, mask.height, keep.width, keep.height]).toEqual([400, 300, 400, 300]);
    // the erase stroke: along (40..120, 40), 40 px wide (the brush's radius is 20 in the original)
    expect(mask.calls).toEqual([...background, "beginPath()", "moveTo(40, 40)", "lineTo(80, 40)", "lineTo(120, 40)", "stroke(#fff, 40, round, round)"]);
    // the protect dab at the middle; the undone one (20 px right of it) is gone
    expect(keep.calls).toEqual([...background, "beginPath()", "arc(200, 150, 20)", "fill(#fff)"]);
    expect(errors).toEqual([]);
  });

  it("sends only the painted mode's mask, scaled down for a very large photo", async () => {
    await go("/jobs/job1/images/0/edit");
    const original = await waitFor(() => byTestId<HTMLImageElement>("brush-original"), "original");
    Object.defineProperty(original, "naturalWidth", { value: 6000 });
    Object.defineProperty(original, "naturalHeight", { value: 4000 });
    await act(async () => original.dispatchEvent(new Event("load")));
    await waitFor(() => document.body.textContent!.includes("6000 × 4000"), "mask size");
    const canvas = byTestId<HTMLCanvasElement>("brush-canvas")!;
    // shown 300 px wide: the default brush (32 screen px) is a radius of 320 in the original
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 300, height: 200, x: 0, y: 0, right: 300, bottom: 200, toJSON: () => "" });
    const submit = byTestId<HTMLButtonElement>("clean-submit")!;
    expect(submit.disabled).toBe(true);

    await act(async () => byTestId("brush-mode-protect")!.click());
    await act(async () => canvas.focus());
    await act(async () => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: " ", bubbles: true })));
    expect(submit.disabled).toBe(false);
    const before = requests.filter((r) => r.url === "/v1/jobs/job1/images/0/clean").length;
    await act(async () => submit.click());
    await waitFor(() => window.location.pathname === "/jobs/job3", "the new job");

    const cleans = requests.filter((r) => r.url === "/v1/jobs/job1/images/0/clean");
    expect(cleans).toHaveLength(before + 1);
    const form = cleans.at(-1)!.body as FormData;
    expect([...form.keys()]).toEqual(["keep_mask"]);
    const keep = await maskPart(form, "keep_mask");
    // 4095 × 2730: within 4096 a side and 16 M pixels, the photo's 3:2 kept
    expect([keep.type, keep.width, keep.height]).toEqual(["image/png", 4095, 2730]);
    expect(keep.calls).toEqual([
      "setTransform(1, 0, 0, 1, 0, 0)",
      "fillRect(0, 0, 4095, 2730, #000)",
      "setTransform(0.682, 0, 0, 0.682, 0, 0)", // 4095 / 6000 = 2730 / 4000
      "beginPath()",
      "arc(3000, 2000, 320)",
      "fill(#fff)",
    ]);
    expect(errors).toEqual([]);
  });
});
