// @vitest-environment jsdom
// The upload page against a fake gateway: 9 photos per drop, crop before upload (≥ 512 px a
// side), the platform's frame, style previews from the API, copy inputs, the own background.
import { act } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { allByTestId, byTestId, json, mountApp, problem, seriousViolations, stubCanvas, type, waitFor, stubBlobUrls, keepConsoleErrors, cleanUpApp } from "../test/harness";

const requests: { method: string; url: string; body: unknown }[] = [];

async function fakeGateway(input: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const url = new URL(input, "http://localhost").pathname;
  requests.push({ method, url, body: init.body });
  if (url === "/v1/auth/refresh") return json({ access_token: "A1", token_type: "bearer", expires_in: 900 });
  if (url === "/v1/me")
    return json({
      user: { id: "u", email: "me@example.com", email_verified: true, created_at: "" },
      team: { id: "t", name: "me", personal: true },
      role: "owner",
      teams: [],
      credential: "access_token",
      account: { plan: { id: "payg", name: "Pay as you go", max_batch: 12 }, remaining_images: 40, credits: 40 },
    });
  if (url === "/v1/styles") return json([{ id: "amazon-white", name_en: "White", name_zh: "纯白" }, { id: "modern-home", name_en: "Modern home", name_zh: "现代家居" }]);
  if (url === "/v1/platforms")
    return json([
      { id: "amazon", name: "Amazon main image", width: 1000, height: 1000, white_background: true },
      { id: "tiktok", name: "TikTok (vertical 9:16)", width: 1080, height: 1920 },
      { id: "shopify-product", name: "Shopify product image", width: 2048, height: 2048 },
    ]);
  if (url === "/v1/jobs" && method === "POST") return json({ id: "job9", status: "queued", images: [] }, 202);
  if (url === "/v1/jobs/job9") return problem(404, "job_not_found");
  return problem(404, "not_found", url);
}

// A decoded photo: jsdom loads no images, so `new Image()` reports this size on `src`.
let photoSize = { width: 1200, height: 900 };
class FakeImage {
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  naturalWidth = 0;
  naturalHeight = 0;
  set src(_url: string) {
    setTimeout(() => {
      this.naturalWidth = photoSize.width;
      this.naturalHeight = photoSize.height;
      this.onload?.();
    }, 0);
  }
}

const photo = (name: string, type = "image/jpeg") => new File(["x"], name, { type });
const canvasCalls: string[] = [];
const errors: unknown[] = [];

async function pick(input: HTMLInputElement, files: File[]) {
  Object.defineProperty(input, "files", { value: files, configurable: true });
  await act(async () => input.dispatchEvent(new Event("change", { bubbles: true })));
}

beforeAll(() => {
  localStorage.setItem("globalpic.session", "1");
  window.history.pushState({}, "", "/");
  vi.stubGlobal("fetch", vi.fn(fakeGateway));
  vi.stubGlobal("Image", FakeImage);
  stubCanvas(canvasCalls);
  HTMLCanvasElement.prototype.toBlob = function toBlob(callback: BlobCallback, type?: string) {
    callback(new Blob([`${this.width}x${this.height}`], { type }));
  };
  stubBlobUrls();
  keepConsoleErrors(errors);
});

afterAll(cleanUpApp);

describe("the upload page", () => {
  it("takes 9 photos per drop, crops one, and sends the copy inputs and the own background", async () => {
    await mountApp();
    const input = await waitFor(() => byTestId<HTMLInputElement>("upload-input"), "upload page");
    await waitFor(() => allByTestId("style-option").length === 2, "styles");

    // 12 photos at once: the first 9 are taken, with a note.
    await pick(input, Array.from({ length: 12 }, (_, i) => photo(`p${i + 1}.jpg`)));
    expect(allByTestId("thumbnail")).toHaveLength(9);
    expect(document.body.textContent).toContain("每次最多添加 9 张，已取前 9 张，忽略了多出的 3 张。");
    // another drop grows the batch up to the plan's 12
    await pick(input, [photo("q1.png", "image/png"), photo("q2.jpg"), photo("q3.jpg"), photo("q4.jpg")]);
    expect(allByTestId("thumbnail")).toHaveLength(12);
    expect(document.body.textContent).toContain("每批最多 12 张，已忽略多出的 1 张。");

    // Crop the tenth (a PNG): the dialog opens with the whole photo.
    await act(async () => allByTestId("crop-file")[9].click());
    const width = await waitFor(() => byTestId<HTMLInputElement>("crop-width"), "crop dialog");
    expect(byTestId("crop-dialog")!.getAttribute("role")).toBe("dialog");
    expect(width.value).toBe("1200");
    // too small a width is raised to 512 (the API's minimum)
    await act(async () => type(width, "300"));
    await act(async () => width.dispatchEvent(new FocusEvent("focusout", { bubbles: true })));
    expect(byTestId<HTMLInputElement>("crop-width")!.value).toBe("512");
    await act(async () => type(byTestId<HTMLInputElement>("crop-x")!, "5000"));
    await act(async () => byTestId("crop-x")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })));
    expect(byTestId<HTMLInputElement>("crop-x")!.value).toBe("688"); // 1200 - 512
    // the keyboard on the preview: Shift+↑ takes a step (1 % of 1200 px) off the height
    const canvas = byTestId("crop-canvas")!;
    await act(async () => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp", shiftKey: true, bubbles: true })));
    expect(byTestId<HTMLInputElement>("crop-height")!.value).toBe("888");
    expect(await seriousViolations()).toEqual([]);
    canvasCalls.length = 0;
    await act(async () => byTestId("crop-apply")!.click());
    await waitFor(() => !byTestId("crop-dialog"), "dialog closed");
    expect(canvasCalls).toContain("drawImage(object,688,0,512,888,0,0,512,888)");
    expect(allByTestId("thumbnail")[9].textContent).toContain("q1.png");

    // A photo under 512 px cannot be cropped: the limit is said.
    photoSize = { width: 400, height: 900 };
    await act(async () => allByTestId("crop-file")[0].click());
    const tooSmall = await waitFor(() => byTestId("crop-too-small"), "too small");
    expect(tooSmall.textContent).toContain("512");
    await act(async () => byTestId("crop-dialog")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true })));
    expect(byTestId("crop-dialog")).toBeNull();

    // The platform's frame, to scale.
    expect(byTestId("platform-frame")!.textContent).toContain("1000 × 1000 像素（1:1）");
    const select = byTestId<HTMLSelectElement>("platform-select")!;
    await act(async () => {
      select.value = "tiktok";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(byTestId("platform-frame")!.textContent).toContain("1080 × 1920 像素（9:16）");
    const frame = byTestId("platform-frame")!.querySelector<HTMLElement>(".frame")!;
    expect([frame.style.width, frame.style.height]).toEqual(["38px", "68px"]);

    // Style previews come from the API.
    const preview = allByTestId("style-option")[1].querySelector("img")!;
    expect(preview.getAttribute("src")).toBe("/v1/styles/modern-home/preview");
    expect(document.body.innerHTML).not.toContain("/styles/modern-home.jpg");

    // Copy inputs appear with the copy op.
    expect(byTestId("copy-options")).toBeNull();
    await act(async () => byTestId("op-copy")!.click());
    await act(async () => type(byTestId<HTMLInputElement>("copy-keywords")!, "water bottle，gym"));
    await act(async () => type(byTestId<HTMLInputElement>("copy-facts")!, "material=steel, 500ml"));
    await act(async () => byTestId("copy-platform-tiktok")!.click());
    expect(byTestId<HTMLInputElement>("copy-platform-amazon")!.checked).toBe(true);
    // a fact that is not name=value is named before anything is sent
    await act(async () => byTestId("start-button")!.click());
    expect(document.body.textContent).toContain("商品信息“500ml”格式不对");
    expect(requests.some((r) => r.method === "POST" && r.url === "/v1/jobs")).toBe(false);
    await act(async () => type(byTestId<HTMLInputElement>("copy-facts")!, "material=steel, capacity=500ml"));

    // The own background replaces the style; candidates drop to 1.
    const backgroundInput = byTestId<HTMLInputElement>("background-input")!;
    Object.defineProperty(backgroundInput, "files", { value: [photo("beach.png", "image/png")], configurable: true });
    await act(async () => backgroundInput.dispatchEvent(new Event("change", { bubbles: true })));
    expect(byTestId("background-chosen")!.textContent).toContain("beach.png");
    expect(allByTestId<HTMLInputElement>("style-option").map((o) => o.querySelector("input")!.checked)).toEqual([false, false]);
    expect(byTestId<HTMLSelectElement>("candidates-select")!.disabled).toBe(true);
    expect(byTestId<HTMLSelectElement>("candidates-select")!.value).toBe("1");
    expect(await seriousViolations()).toEqual([]);

    await act(async () => byTestId("start-button")!.click());
    await waitFor(() => requests.some((r) => r.method === "POST" && r.url === "/v1/jobs"), "submission");
    const form = requests.find((r) => r.method === "POST" && r.url === "/v1/jobs")!.body as FormData;
    const images = form.getAll("images") as File[];
    expect(images).toHaveLength(12);
    expect(images[9].name).toBe("q1.png");
    expect(images[9].type).toBe("image/png");
    expect(images[9].size).toBe("512x888".length); // the cropped canvas' blob
    expect(form.get("ops")).toBe("clean,extract,remix,resize,copy");
    expect(form.has("style")).toBe(false);
    expect((form.get("background") as File).name).toBe("beach.png");
    expect(form.get("candidates")).toBe("1");
    expect(form.get("platform")).toBe("tiktok");
    expect(form.get("keywords")).toBe("water bottle, gym");
    expect(form.get("facts")).toBe("material=steel, capacity=500ml");
    expect(form.get("copy_platforms")).toBe("amazon,tiktok");
    expect(errors).toEqual([]);
  });
});
