// Shared by the page tests (jsdom): mounting the app, waiting, typing, and axe-core.
import axe from "axe-core";
import { vi } from "vitest";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export function json(body: unknown, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

export const problem = (status: number, code: string, detail = code) =>
  json({ status, code, title: code, detail }, status, "application/problem+json");

export async function waitFor<T>(find: () => T | null | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 150; i++) {
    const found = find();
    if (found) return found;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
  }
  throw new Error(`timed out waiting for ${what}: ${document.body.innerHTML.slice(0, 3000)}`);
}

export const byTestId = <E extends HTMLElement = HTMLElement>(id: string) => document.querySelector<E>(`[data-testid="${id}"]`);
export const allByTestId = <E extends HTMLElement = HTMLElement>(id: string) => [...document.querySelectorAll<E>(`[data-testid="${id}"]`)];

/** Sets an input's value the way a user does (React listens to `input`). */
export function type(input: HTMLInputElement, value: string) {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

let root: Root | null = null;

export async function mountApp() {
  const { App } = await import("../App");
  if (root) act(() => root!.unmount());
  const container = document.createElement("div");
  document.body.replaceChildren(container);
  root = createRoot(container);
  await act(async () => root!.render(<App />));
}

export function unmountApp() {
  if (root) act(() => root!.unmount());
  root = null;
}

export async function go(path: string) {
  await act(async () => {
    window.history.pushState({}, "", path);
    window.dispatchEvent(new PopStateEvent("popstate"));
  });
}

/** axe-core's serious and critical violations on the page (colour contrast needs a layout jsdom lacks). */
export async function seriousViolations(): Promise<string[]> {
  const result = await axe.run(document.body, { resultTypes: ["violations"], rules: { "color-contrast": { enabled: false } } });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`);
}

/** A blob's bytes (jsdom's Blob has no arrayBuffer()). */
export function blobBytes(blob: Blob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

/** Fires a pointer event (jsdom has no PointerEvent: a MouseEvent of that type reaches React the same). */
export function pointer(target: Element, kind: "pointerdown" | "pointermove" | "pointerup", x: number, y: number) {
  target.dispatchEvent(new MouseEvent(kind, { bubbles: true, cancelable: true, clientX: x, clientY: y, button: 0, buttons: kind === "pointerup" ? 0 : 1 }));
}

/**
 * A 2D context for jsdom (which has none): records the calls (`fillRect`, `arc`, …) and answers
 * what axe-core and the pages read back.
 */
export function stubCanvas(calls: string[] = []): string[] {
  HTMLCanvasElement.prototype.getContext = function getContext() {
    const state: Record<string | symbol, unknown> = {};
    return new Proxy(state, {
      get(target, name) {
        if (name in target) return target[name];
        if (name === "measureText") return () => ({ width: 0, actualBoundingBoxAscent: 0, actualBoundingBoxDescent: 0 });
        if (name === "getImageData")
          return (_x: number, _y: number, w: number, h: number) => ({ data: new Uint8ClampedArray(w * h * 4), width: w, height: h });
        return (...args: unknown[]) => void calls.push(`${String(name)}(${args.map((a) => (typeof a === "number" ? Math.round(a) : typeof a)).join(",")})`);
      },
      set(target, name, value) {
        target[name] = value;
        return true;
      },
    });
  } as unknown as typeof HTMLCanvasElement.prototype.getContext;
  return calls;
}

/** What jsdom lacks for the result and edit pages: numbered blob URLs. */
export function stubBlobUrls() {
  let n = 0;
  URL.createObjectURL = () => `blob:test/${n++}`;
  URL.revokeObjectURL = () => undefined;
}

/** Every console.error of the page into `errors` (a test asserts there is none). */
export function keepConsoleErrors(errors: unknown[]) {
  vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args));
}

/** After a page's tests: the app unmounted, the globals back, storage cleared. */
export function cleanUpApp() {
  unmountApp();
  vi.unstubAllGlobals();
  localStorage.clear();
}
