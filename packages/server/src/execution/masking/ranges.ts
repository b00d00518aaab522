/** Stream offsets to mask: merged [start, end) ranges in order, added as matches end (ends never decrease). */
export class Ranges {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Index of the first range not yet emitted. */
  private head = 0;

  add(start: number, end: number): void {
    // Overlapping or touching ranges merge: back-to-back occurrences become one mask.
    let n = this.starts.length;
    while (n > this.head && start <= this.ends[n - 1]!) {
      start = Math.min(start, this.starts[n - 1]!);
      end = Math.max(end, this.ends[n - 1]!);
      this.starts.pop();
      this.ends.pop();
      n--;
    }
    this.starts.push(start);
    this.ends.push(end);
  }

  /** The first range not yet emitted, or null. */
  first(): [number, number] | null {
    return this.head < this.starts.length ? [this.starts[this.head]!, this.ends[this.head]!] : null;
  }

  /** Drops the first range, or keeps only its part from `from` on when it reaches past what was emitted. */
  consumeFirst(from: number): void {
    if (this.ends[this.head]! > from) {
      this.starts[this.head] = from;
      return;
    }
    this.head++;
    // Drop what was emitted once it is all of it, or a lot of it: a long output keeps no history.
    if (this.head === this.starts.length || this.head >= 1024) {
      this.starts.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
  }
}
