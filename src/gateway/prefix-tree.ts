// What one replica has probably cached: a radix tree of the prompts recently sent to it (as text),
// bounded in characters. Past the bound the least recently used branches are evicted, as the
// replica's own prefix cache would drop them. SGLang's and vLLM's routers keep the same estimate.

interface Node {
  /** The edge into this node. */
  label: string;
  children: Map<string, Node>;
  parent: Node | null;
  /** The tree's clock when a prompt through this node was last inserted. */
  used: number;
}

export class PrefixTree {
  private readonly root: Node = { label: "", children: new Map(), parent: null, used: 0 };
  private clock = 0;
  private chars = 0;

  /** `maxChars`: the characters kept; an insert past it evicts down to 90% of it. */
  constructor(private readonly maxChars: number) {}

  /** Characters held (the sum of the edge labels). */
  get size(): number {
    return this.chars;
  }

  /** The length of the longest prefix of `text` in the tree. */
  match(text: string): number {
    let node = this.root;
    let matched = 0;
    while (matched < text.length) {
      const child = node.children.get(text[matched]!);
      if (child === undefined) break;
      const common = commonLength(child.label, text, matched);
      matched += common;
      if (common < child.label.length) break;
      node = child;
    }
    return matched;
  }

  /** Adds `text` (a prompt just routed here) and marks its path as the most recently used. */
  insert(text: string): void {
    const now = ++this.clock;
    let node = this.root;
    let at = 0;
    node.used = now;
    while (at < text.length) {
      const key = text[at]!;
      const child = node.children.get(key);
      if (child === undefined) {
        const leaf: Node = { label: text.slice(at), children: new Map(), parent: node, used: now };
        node.children.set(key, leaf);
        this.chars += leaf.label.length;
        break;
      }
      const common = commonLength(child.label, text, at);
      if (common < child.label.length) {
        // Split the edge: node → middle (the shared part) → child (the rest).
        const middle: Node = { label: child.label.slice(0, common), children: new Map(), parent: node, used: now };
        child.label = child.label.slice(common);
        child.parent = middle;
        middle.children.set(child.label[0]!, child);
        node.children.set(key, middle);
        node = middle;
      } else {
        child.used = now;
        node = child;
      }
      at += common;
    }
    if (this.chars > this.maxChars) this.evict(Math.floor(this.maxChars * 0.9));
  }

  /** Drops least recently used leaves until at most `target` characters are held. */
  private evict(target: number): void {
    while (this.chars > target) {
      const leaves: Node[] = [];
      const stack: Node[] = [this.root];
      while (stack.length > 0) {
        const n = stack.pop()!;
        if (n.children.size === 0 && n !== this.root) leaves.push(n);
        else for (const c of n.children.values()) stack.push(c);
      }
      if (leaves.length === 0) return;
      leaves.sort((a, b) => a.used - b.used);
      for (const leaf of leaves) {
        if (this.chars <= target) return;
        leaf.parent!.children.delete(leaf.label[0]!);
        this.chars -= leaf.label.length;
      }
    }
  }
}

function commonLength(label: string, text: string, from: number): number {
  const n = Math.min(label.length, text.length - from);
  let i = 0;
  while (i < n && label.charCodeAt(i) === text.charCodeAt(from + i)) i++;
  return i;
}
