// A 2D context for tests (node and jsdom have none): records the drawing calls, with the
// colour and line width that a fill or a stroke is made with.
import type { Context2D } from "./canvasPng";

export class FakeContext implements Context2D {
  calls: string[] = [];
  fillStyle: Context2D["fillStyle"] = "#000";
  strokeStyle: Context2D["strokeStyle"] = "#000";
  lineWidth = 1;
  lineCap: CanvasLineCap = "butt";
  lineJoin: CanvasLineJoin = "miter";

  private log(name: string, ...args: unknown[]) {
    this.calls.push(`${name}(${args.map((a) => (typeof a === "number" ? +a.toFixed(3) : String(a))).join(", ")})`);
  }

  setTransform(...args: unknown[]): void {
    this.log("setTransform", ...args);
  }
  fillRect(x: number, y: number, w: number, h: number): void {
    this.log("fillRect", x, y, w, h, this.fillStyle);
  }
  beginPath(): void {
    this.log("beginPath");
  }
  moveTo(x: number, y: number): void {
    this.log("moveTo", x, y);
  }
  lineTo(x: number, y: number): void {
    this.log("lineTo", x, y);
  }
  arc(x: number, y: number, radius: number): void {
    this.log("arc", x, y, radius);
  }
  fill(): void {
    this.log("fill", this.fillStyle);
  }
  stroke(): void {
    this.log("stroke", this.strokeStyle, this.lineWidth, this.lineCap, this.lineJoin);
  }
}
