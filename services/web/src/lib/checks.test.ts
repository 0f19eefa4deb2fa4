import { describe, expect, it } from "vitest";
import type { RuleResult } from "../api/types";
import { checksOfCandidate } from "./checks";

const rule = (name: string, passed: boolean): RuleResult => ({ rule: name, passed, message: "" });

describe("checksOfCandidate", () => {
  const checks = [rule("size", true), rule("white", true), rule("size", true), rule("white", false)];

  it("gives each candidate its own slice", () => {
    expect(checksOfCandidate(checks, 2, 0).map((c) => c.passed)).toEqual([true, true]);
    expect(checksOfCandidate(checks, 2, 1).map((c) => c.passed)).toEqual([true, false]);
  });

  it("shows a single result's, or an uneven list, whole", () => {
    expect(checksOfCandidate(checks, 1, 0)).toHaveLength(4);
    expect(checksOfCandidate(checks.slice(0, 3), 2, 0)).toHaveLength(3);
  });
});
