// ConvNetJS's cnnutil.Window (build/util.js), which deepqlearn's Brain keeps its running reward and
// loss averages in: the last `size` values and their sum.

export class Window {
  /** The values in the window, oldest first. */
  v: number[] = [];
  readonly size: number;
  readonly minsize: number;
  sum = 0;

  /** Keeps the last `size` values (default 100); get_average() answers once `minsize` (default 20) are in. */
  constructor(size = 100, minsize = 20) {
    this.size = size;
    this.minsize = minsize;
  }

  add(x: number): void {
    this.v.push(x);
    this.sum += x;
    if (this.v.length > this.size) this.sum -= this.v.shift()!;
  }

  /** The mean of the window, or −1 while it holds fewer than `minsize` values (ConvNetJS's convention). */
  get_average(): number {
    return this.v.length < this.minsize ? -1 : this.sum / this.v.length;
  }

  reset(): void {
    this.v = [];
    this.sum = 0;
  }
}
