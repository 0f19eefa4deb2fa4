import { useEffect, useState } from "react";
import { api } from "../api/client";

// Results never change once written: each path is downloaded once per page session.
const cache = new Map<string, Promise<Blob>>();
const CACHE_MAX = 200;

function cachedBlob(path: string): Promise<Blob> {
  let hit = cache.get(path);
  if (!hit) {
    hit = api.download(path).then(({ blob }) => blob);
    hit.catch(() => cache.delete(path));
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(path, hit);
  }
  return hit;
}

/** Downloads `path` with the access token and gives an object URL for <img src>. */
export function useBlobUrl(path: string | null | undefined): { url: string | null; error: unknown } {
  const [state, setState] = useState<{ url: string | null; error: unknown }>({ url: null, error: null });
  useEffect(() => {
    if (!path) {
      setState({ url: null, error: null });
      return;
    }
    const controller = new AbortController();
    let url: string | null = null;
    setState({ url: null, error: null });
    cachedBlob(path)
      .then((blob) => {
        if (controller.signal.aborted) return;
        url = URL.createObjectURL(blob);
        setState({ url, error: null });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ url: null, error });
      });
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  return state;
}

/** Saves a blob under a file name (an <a download> click). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
