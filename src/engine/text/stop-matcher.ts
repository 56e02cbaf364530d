// Finds stop sequences in streamed text. The text arrives a token at a time, so a stop sequence
// usually spans several pushes; text that could still turn out to be the start of one is held
// back, because once sent to the client it cannot be taken back.
//
// Each stop sequence is matched with its own Knuth-Morris-Pratt automaton: the state is the
// length of the longest suffix of the text so far that is a prefix of the stop sequence. Each
// pushed character costs amortised O(1) per stop sequence, with no rescans of earlier text, and
// the largest state is exactly how much text has to be held back.

interface Automaton {
  readonly stop: string;
  /** failure[i]: length of the longest proper border of stop[0..i]. */
  readonly failure: Uint32Array;
  state: number;
}

function buildFailure(stop: string): Uint32Array {
  const failure = new Uint32Array(stop.length);
  let k = 0;
  for (let i = 1; i < stop.length; i++) {
    while (k > 0 && stop.charCodeAt(i) !== stop.charCodeAt(k)) k = failure[k - 1]!;
    if (stop.charCodeAt(i) === stop.charCodeAt(k)) k++;
    failure[i] = k;
  }
  return failure;
}

export interface StopPushResult {
  /** Text that is now final and can be sent. */
  text: string;
  /** A stop sequence completed: `text` is everything before it and generation should end. */
  stopped: boolean;
}

export class StopMatcher {
  private readonly automata: Automaton[];
  /** Text received but not yet emitted, because a stop sequence may be starting in it. */
  private held = "";
  private stopped = false;

  constructor(stops: readonly string[]) {
    // Duplicates would only double the work; empty strings would stop before any output.
    const unique = [...new Set(stops.filter((s) => s.length > 0))];
    this.automata = unique.map((stop) => ({ stop, failure: buildFailure(stop), state: 0 }));
  }

  push(text: string): StopPushResult {
    if (this.stopped) return { text: "", stopped: true };
    if (this.automata.length === 0) return { text, stopped: false };

    const buffer = this.held + text;
    const offset = this.held.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      // When several stops complete on the same character, the longest one started first and
      // is the one to cut at, so the emitted text never contains the start of any of them.
      let matchStart = -1;
      for (const a of this.automata) {
        let s = a.state;
        while (s > 0 && a.stop.charCodeAt(s) !== c) s = a.failure[s - 1]!;
        if (a.stop.charCodeAt(s) === c) s++;
        a.state = s;
        if (s === a.stop.length) {
          const start = offset + i + 1 - s;
          if (matchStart === -1 || start < matchStart) matchStart = start;
        }
      }
      if (matchStart !== -1) {
        this.stopped = true;
        this.held = "";
        return { text: buffer.slice(0, matchStart), stopped: true };
      }
    }

    let hold = 0;
    for (const a of this.automata) if (a.state > hold) hold = a.state;
    const emitUpTo = buffer.length - hold;
    this.held = buffer.slice(emitUpTo);
    return { text: buffer.slice(0, emitUpTo), stopped: false };
  }

  /** The held-back text, at the end of generation (it turned out not to be a stop sequence). */
  flush(): string {
    const rest = this.held;
    this.held = "";
    for (const a of this.automata) a.state = 0;
    return this.stopped ? "" : rest;
  }
}
