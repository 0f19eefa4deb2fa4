import { describe, expect, it } from "vitest";
import { MAX_PER_DROP, takeFiles } from "./batch";

const photo = (name: string, type = "image/jpeg") => ({ name, type });
const photos = (n: number) => Array.from({ length: n }, (_, i) => photo(`p${i + 1}.jpg`));

describe("takeFiles", () => {
  it("takes the first 9 photos of one drop and counts the rest", () => {
    expect(MAX_PER_DROP).toBe(9);
    const intake = takeFiles(photos(12), 0, 50);
    expect(intake.added.map((f) => f.name)).toEqual(photos(9).map((f) => f.name));
    expect(intake.overDrop).toBe(3);
    expect(intake.overBatch).toBe(0);
    expect(intake.badType).toEqual([]);
  });

  it("leaves out what is not JPEG / PNG / WEBP before counting", () => {
    const incoming = [photo("a.gif", "image/gif"), ...photos(9), photo("b.png", "image/png"), photo("c.pdf", "application/pdf")];
    const intake = takeFiles(incoming, 0, 50);
    expect(intake.badType).toEqual(["a.gif", "c.pdf"]);
    expect(intake.added).toHaveLength(9);
    expect(intake.overDrop).toBe(1); // b.png, the tenth photo
  });

  it("grows one batch over several drops up to the plan's limit", () => {
    let inBatch = 0;
    for (let drop = 0; drop < 5; drop++) inBatch += takeFiles(photos(9), inBatch, 20).added.length;
    expect(inBatch).toBe(20);
    const last = takeFiles(photos(5), 18, 20);
    expect(last.added).toHaveLength(2);
    expect(last.overBatch).toBe(3);
    expect(takeFiles(photos(1), 20, 20)).toMatchObject({ added: [], overBatch: 1, overDrop: 0 });
  });
});
