import { describe, expect, it } from "vitest";
import { badFact, buildJobForm, splitList, type JobRequest } from "./jobForm";

const photo = new File(["x"], "杯子.jpg", { type: "image/jpeg" });
const base: JobRequest = {
  files: [photo],
  ops: new Set(["clean", "extract", "remix", "resize"]),
  style: "modern-home",
  platform: "amazon",
  candidates: 4,
};
const fields = (form: FormData) => Object.fromEntries([...form.entries()].filter(([k]) => k !== "images" && k !== "background"));

describe("buildJobForm", () => {
  it("sends the style and candidates with remix, the platform with resize", () => {
    const form = buildJobForm(base);
    expect((form.getAll("images") as File[]).map((f) => f.name)).toEqual(["杯子.jpg"]);
    expect(fields(form)).toEqual({ ops: "clean,extract,remix,resize", style: "modern-home", candidates: "4", platform: "amazon" });
  });

  it("leaves out what the chosen ops do not use", () => {
    const form = buildJobForm({ ...base, ops: new Set(["clean"]), keywords: "mug", facts: "material=ceramic" });
    expect(fields(form)).toEqual({ ops: "clean" });
  });

  it("sends the own background instead of the style, with one candidate", () => {
    const background = new File(["bg"], "beach.png", { type: "image/png" });
    const form = buildJobForm({ ...base, background });
    expect(form.has("style")).toBe(false);
    expect(form.get("candidates")).toBe("1");
    expect((form.get("background") as File).name).toBe("beach.png");
    // without remix the background is not sent at all
    expect(buildJobForm({ ...base, ops: new Set(["clean"]), background }).has("background")).toBe(false);
  });

  it("sends the copy inputs with copy, platforms in catalog order", () => {
    const form = buildJobForm({
      ...base,
      ops: new Set(["clean", "copy"]),
      keywords: " water  bottle，gym ;; 健身 ",
      facts: " material=cotton, size=M ",
      copyPlatforms: ["tiktok", "amazon", "nope"],
    });
    expect(fields(form)).toEqual({
      ops: "clean,copy",
      keywords: "water bottle, gym, 健身",
      facts: "material=cotton, size=M",
      copy_platforms: "amazon,tiktok",
    });
    const empty = buildJobForm({ ...base, ops: new Set(["copy"]), keywords: " , ", facts: "", copyPlatforms: [] });
    expect(fields(empty)).toEqual({ ops: "copy" });
  });
});

describe("copy inputs", () => {
  it("splits keyword lists on ASCII and Chinese separators", () => {
    expect(splitList("a, b；c、 d  e ,")).toEqual(["a", "b", "c", "d e"]);
  });

  it("names the first fact that is not name=value", () => {
    expect(badFact("")).toBeNull();
    expect(badFact("material=cotton, size=M, Colour：red")).toBeNull();
    expect(badFact("material=cotton, cotton")).toBe("cotton");
    expect(badFact("材质=棉")).toBe("材质=棉");
    expect(badFact("size=")).toBe("size=");
  });
});
