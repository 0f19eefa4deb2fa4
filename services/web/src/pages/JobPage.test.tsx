// @vitest-environment jsdom
// The job page against a fake gateway: marketplace checks, copy tabs with counters, the
// adjust panel (live preview, pending, the new job followed), one-click erase of uncertain
// texts, retry of a failed image (402 first: the upgrade path), the link back from a re-run.
import { act } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { allByTestId, byTestId, go, json, mountApp, problem, seriousViolations, stubCanvas, type, waitFor, stubBlobUrls, keepConsoleErrors, cleanUpApp } from "../test/harness";

const variant = (title: string) => ({
  title,
  bullets: ["Holds 350 ml", "Dishwasher safe"],
  description: "A mug.",
  meta_description: "",
  search_terms: "mug cup café",
  caption: "",
  hashtags: [],
  explanation_zh: "突出容量",
});
const social = { title: "", bullets: [], description: "", meta_description: "", search_terms: "", caption: "Morning coffee", hashtags: ["#Mug", "#Coffee", "#Home"], explanation_zh: "生活化" };

function job(id: string, images: unknown[], rerunOf: { job_id: string; image: number } | null = null) {
  return {
    id,
    status: "completed",
    created_at: "2026-01-05T10:00:00Z",
    updated_at: "2026-01-05T10:00:05Z",
    finished_at: "2026-01-05T10:00:05Z",
    options: { ops: ["clean", "extract", "remix", "resize", "copy"], style: "amazon-white", platform: "amazon", candidates: 2, copy_platforms: ["amazon", "tiktok"] },
    image_count: images.length,
    counts: {},
    links: { self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events`, results_zip: `/v1/jobs/${id}/results.zip` },
    images,
    rerun_of: rerunOf,
  };
}

const COMPLETED = {
  index: 0,
  filename: "杯子.jpg",
  state: "completed",
  stage: "done",
  percent: 100,
  cached: false,
  outputs: [
    { candidate: 1, url: "/v1/jobs/job1/images/0/result?candidate=1", content_type: "image/png" },
    { candidate: 2, url: "/v1/jobs/job1/images/0/result?candidate=2", content_type: "image/png" },
  ],
  // every candidate's checks, one after the other (the page shows the selected one's)
  checks: [
    { rule: "white_background", passed: true, message: "background is RGB 255" },
    { rule: "product_fill", passed: false, message: "product spans 70% (needs 85%)", measured: 0.7, required: 0.85 },
    { rule: "white_background", passed: true, message: "background is RGB 255" },
    { rule: "product_fill", passed: true, message: "product spans 88% (needs 85%)", measured: 0.88, required: 0.85 },
  ],
  report: {
    input: "杯子.jpg",
    texts: [
      { box: [], text: "限时特价", confidence: 0.9, kind: "overlay", action: "erased", overlay_score: 0.93, cues: {} },
      { box: [], text: "BRAND", confidence: 0.8, kind: "product", action: "kept_uncertain", overlay_score: 0.48, cues: { print: 0.6, promo_words: 0 } },
      { box: [], text: "包邮", confidence: 0.8, kind: "product", action: "kept_uncertain", overlay_score: 0.52, cues: { units: 0.3 } },
    ],
    copy: { platform: "amazon", variants: [variant("Ceramic Mug")], passed: true },
    copies: [
      {
        platform: "amazon",
        variants: [variant("Ceramic Mug, 350 ml"), variant("Ceramic Coffee Mug")],
        passed: true,
        checks: [
          { rule: "title_length", variant: 0, passed: true, measured: 19, required: 200 },
          { rule: "search_terms_bytes", variant: 0, passed: true, measured: 13, required: 249 },
          { rule: "bullet_length", variant: 0, passed: true, measured: 15, required: 10 },
        ],
      },
      { platform: "tiktok", variants: [social], passed: true, checks: [{ rule: "caption_length", variant: 0, passed: true, required: 2200 }] },
    ],
  },
  error: null,
};
const FAILED = { index: 1, filename: "盘子.jpg", state: "failed", stage: null, percent: 0, cached: false, outputs: [], checks: [], report: null, error: { code: "no_product", message: "no product found" } };
const RERUN = (id: string, image: number) => job(id, [{ ...COMPLETED, outputs: [{ ...COMPLETED.outputs[0], url: `/v1/jobs/${id}/images/0/result?candidate=1` }] }], { job_id: "job1", image });

const requests: { method: string; url: string; body: unknown }[] = [];
let releaseAdjust: (() => void) | null = null;
let retryAnswers = ["quota_exceeded", "ok"];
let adjustAnswers = ["bad_option", "ok"];

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body;
  requests.push({ method, url, body });
  if (url === "/v1/auth/refresh") return json({ access_token: "A1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/me")
    return json({
      user: { id: "u", email: "me@example.com", email_verified: true, created_at: "" },
      team: { id: "t", name: "me", personal: true },
      role: "owner",
      teams: [],
      credential: "access_token",
      account: { plan: { id: "payg", name: "Pay as you go", max_batch: 50 }, remaining_images: 5, credits: 5 },
    });
  if (url === "/v1/jobs/job1") return json(job("job1", [COMPLETED, FAILED]));
  if (url === "/v1/jobs/job2") return json(RERUN("job2", 0));
  if (url === "/v1/jobs/job3") return json(RERUN("job3", 0));
  if (url === "/v1/jobs/job4") return json(RERUN("job4", 1));
  if (url === "/v1/jobs/job1/images/0/adjust" && method === "POST") {
    if (adjustAnswers.shift() === "bad_option") return problem(422, "bad_option", "strength below 1 blends toward the original photo");
    await new Promise<void>((resolve) => (releaseAdjust = resolve));
    return json(RERUN("job2", 0), 202);
  }
  if (url === "/v1/jobs/job1/images/0/clean" && method === "POST") return json(RERUN("job3", 0), 202);
  if (url === "/v1/jobs/job1/images/1/retry" && method === "POST") {
    if (retryAnswers.shift() === "quota_exceeded") return problem(402, "quota_exceeded", "no images left");
    return json(RERUN("job4", 1), 202);
  }
  if (/^\/v1\/jobs\/job\d\/images\/\d\/(original|result)$/.test(url)) return new Response(new Blob(["png"], { type: "image/png" }));
  return problem(404, "not_found", url);
}

const errors: unknown[] = [];

beforeAll(() => {
  localStorage.setItem("globalpic.session", "1");
  window.history.pushState({}, "", "/jobs/job1");
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  stubCanvas();
  stubBlobUrls();
  keepConsoleErrors(errors);
});

afterAll(cleanUpApp);

describe("the job page", () => {
  it("shows each rule passed or failed, the copy per platform with counters, and uncertain texts", async () => {
    await mountApp();
    await waitFor(() => byTestId("result-image"), "result image");
    await waitFor(() => byTestId("compare-slider"), "original loaded");

    const rules = allByTestId("rule-check");
    expect(rules.map((r) => r.dataset.passed)).toEqual(["true", "false"]);
    expect(rules[0].textContent).toContain("纯白背景");
    expect(rules[1].textContent).toContain("商品占画面比例");
    expect(byTestId("rule-checks")!.textContent).toContain("1 / 2 项未通过");

    // Copy: one tab per platform (copies win over the single copy), Amazon first.
    const tabs = allByTestId("copy-tab");
    expect(tabs.map((t) => t.textContent)).toEqual(["Amazon", "TikTok"]);
    expect(tabs[0].getAttribute("aria-selected")).toBe("true");
    expect(allByTestId("copy-variant")).toHaveLength(2);
    expect(byTestId("copy-variant")!.textContent).toContain("Ceramic Mug, 350 ml");
    expect(byTestId("copy-variant")!.textContent).toContain("突出容量");
    const counters = allByTestId("copy-variant")[0].querySelectorAll('[data-testid="copy-counter"]');
    expect([...counters].map((c) => c.textContent)).toEqual([
      "19 / 200 字符",
      "12 / 10 字符 · 超出上限",
      "15 / 10 字符 · 超出上限",
      "13 / 249 字节",
    ]);
    // the second variant's checks carry no limits: no counters
    expect(allByTestId("copy-variant")[1].querySelector('[data-testid="copy-counter"]')).toBeNull();
    // Arrow keys move between tabs
    await act(async () => tabs[0].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true })));
    expect(allByTestId("copy-tab")[1].getAttribute("aria-selected")).toBe("true");
    expect(document.activeElement).toBe(allByTestId("copy-tab")[1]);
    expect(byTestId("copy-variant")!.textContent).toContain("Morning coffee");
    expect(byTestId("copy-counter")!.textContent).toBe("33 / 2200 字符"); // caption with its hashtags

    // Kept-uncertain texts, with why.
    const uncertain = allByTestId("uncertain-text");
    expect(uncertain.map((u) => u.querySelector("strong")!.textContent)).toEqual(["“BRAND”", "“包邮”"]);
    expect(uncertain[0].textContent).toContain("48%");
    expect(uncertain[0].textContent).toContain("print 0.60");
    expect(allByTestId("erase-uncertain")).toHaveLength(2);
    expect(byTestId("erase-uncertain-all")).not.toBeNull();

    // The failed image: its error in Chinese.
    const failed = allByTestId("progress").find((p) => p.dataset.state === "failed")!;
    expect(failed.textContent).toContain("图片中没有找到商品主体");
    expect(byTestId("edit-link")!.getAttribute("href")).toBe("/jobs/job1/images/0/edit");
    expect(await seriousViolations()).toEqual([]);
  });

  it("previews the adjustment live, shows it pending, then follows the new job", async () => {
    // the second candidate
    await act(async () => allByTestId("candidate")[1].click());
    const apply = byTestId<HTMLButtonElement>("adjust-apply")!;
    expect(apply.disabled).toBe(true); // nothing to apply yet
    await act(async () => type(byTestId<HTMLInputElement>("adjust-brightness")!, "0.5"));
    await act(async () => type(byTestId<HTMLInputElement>("adjust-strength")!, "0.6"));
    const result = byTestId<HTMLImageElement>("result-image")!;
    expect(result.style.filter).toContain("brightness(1.25)");
    expect(result.style.opacity).toBe("0.6");
    expect(document.querySelector(".compare-under")).not.toBeNull(); // the original under it

    // refused: the problem in Chinese, with the gateway's word on which option
    await act(async () => apply.click());
    const refused = await waitFor(() => byTestId("error"), "the problem");
    expect(refused.textContent).toContain("处理选项不正确");
    expect(byTestId("error-detail")!.textContent).toContain("strength below 1");

    await act(async () => apply.click());
    await waitFor(() => releaseAdjust, "adjust request");
    expect(byTestId("error")).toBeNull();
    expect(byTestId<HTMLButtonElement>("adjust-apply")!.disabled).toBe(true);
    expect(byTestId("adjust-apply")!.textContent).toBe("正在提交…");
    const post = requests.filter((r) => r.method === "POST" && r.url.endsWith("/adjust")).at(-1)!;
    expect(post.url).toBe("/v1/jobs/job1/images/0/adjust");
    expect(post.body).toEqual({ candidate: 1, brightness: 0.5, saturation: 0, detail: 0, strength: 0.6 });

    await act(async () => releaseAdjust!());
    await waitFor(() => window.location.pathname === "/jobs/job2", "the new job");
    const back = await waitFor(() => byTestId("rerun-of"), "link back");
    expect(back.querySelector("a")!.getAttribute("href")).toBe("/jobs/job1");
    // a fresh page: the sliders of the last job are not carried over
    await waitFor(() => byTestId("adjust-brightness"), "adjust panel");
    expect(byTestId<HTMLInputElement>("adjust-brightness")!.value).toBe("0");
  });

  it("erases one uncertain text, or all of them, in a new job", async () => {
    await go("/jobs/job1");
    await waitFor(() => allByTestId("erase-uncertain").length === 2, "uncertain texts");
    await act(async () => allByTestId("erase-uncertain")[1].click());
    await waitFor(() => window.location.pathname === "/jobs/job3", "the clean job");
    let clean = requests.filter((r) => r.url === "/v1/jobs/job1/images/0/clean").at(-1)!;
    expect((clean.body as FormData).get("erase_texts")).toBe("2");

    await go("/jobs/job1");
    await waitFor(() => byTestId("erase-uncertain-all"), "erase all");
    await act(async () => byTestId("erase-uncertain-all")!.click());
    await waitFor(() => window.location.pathname === "/jobs/job3", "the clean job");
    clean = requests.filter((r) => r.url === "/v1/jobs/job1/images/0/clean").at(-1)!;
    expect((clean.body as FormData).get("erase_texts")).toBe("1,2");
  });

  it("retries a failed image: 402 shows the upgrade path, then the new job", async () => {
    await go("/jobs/job1");
    const retry = await waitFor(() => byTestId("retry-image"), "retry button");
    await act(async () => retry.click());
    const upgrade = await waitFor(() => byTestId("upgrade-link"), "upgrade link");
    expect(upgrade.getAttribute("href")).toBe("/plans");
    expect(byTestId("error")!.textContent).toContain("免费额度已用完");
    await act(async () => byTestId("retry-image")!.click());
    await waitFor(() => window.location.pathname === "/jobs/job4", "the retried job");
    const posts = requests.filter((r) => r.url === "/v1/jobs/job1/images/1/retry");
    expect(posts.map((p) => [p.method, p.body])).toEqual([
      ["POST", undefined],
      ["POST", undefined],
    ]);
    await waitFor(() => byTestId("rerun-of"), "link back");
    expect(byTestId("rerun-of")!.textContent).toContain("原任务的第 2 张图片");
    expect(errors).toEqual([]);
  });
});
