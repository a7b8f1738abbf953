/**
 * The valid_policy_tree of RFC 5280 §6.1.2-6.1.5, kept as one list of nodes per depth. Qualifiers
 * are carried by the RFC but never change a decision, so they are left out.
 */
export const ANY_POLICY = '2.5.29.32.0';

interface PolicyNode {
  readonly policy: string;
  /** expected_policy_set: the policies a child of this node may carry. */
  expected: Set<string>;
  readonly parent?: PolicyNode;
  children: PolicyNode[];
}

export class PolicyTree {
  /** levels[d]: the nodes at depth d; undefined tree = NULL in the RFC. */
  private levels: PolicyNode[][] | undefined;

  constructor() {
    this.levels = [[{ policy: ANY_POLICY, expected: new Set([ANY_POLICY]), children: [] }]];
  }

  get empty(): boolean {
    return this.levels === undefined;
  }

  clear(): void {
    this.levels = undefined;
  }

  /** §6.1.3(d): process the certificatePolicies of certificate i (depth i+1). */
  processCertificate(
    policies: readonly string[],
    inhibitAny: boolean,
    isLeafOrSelfIssuedAnyOk: boolean,
  ): void {
    if (!this.levels) return;
    const depth = this.levels.length;
    const parents = this.levels[depth - 1]!;
    const next: PolicyNode[] = [];
    const add = (policy: string, parent: PolicyNode): void => {
      const n: PolicyNode = { policy, expected: new Set([policy]), parent, children: [] };
      parent.children.push(n);
      next.push(n);
    };
    for (const p of policies) {
      if (p === ANY_POLICY) continue;
      let matched = false;
      for (const parent of parents)
        if (parent.expected.has(p)) {
          add(p, parent);
          matched = true;
        }
      if (!matched) for (const parent of parents) if (parent.policy === ANY_POLICY) add(p, parent);
    }
    if (policies.includes(ANY_POLICY) && (!inhibitAny || isLeafOrSelfIssuedAnyOk))
      for (const parent of parents)
        for (const e of parent.expected)
          if (!next.some((n) => n.parent === parent && n.policy === e)) add(e, parent);
    this.levels.push(next);
    this.prune();
  }

  /** §6.1.5(g) iii / §6.1.4(b): a node with no children below the deepest level goes, recursively. */
  private prune(): void {
    if (!this.levels) return;
    for (let d = this.levels.length - 2; d >= 0; d--) {
      const level = this.levels[d]!;
      const kept = level.filter((n) => n.children.length > 0);
      for (const n of level)
        if (n.children.length === 0 && n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
      this.levels[d] = kept;
    }
    if (this.levels.some((l) => l.length === 0)) this.levels = undefined;
  }

  /** §6.1.4(b): policy mappings of an intermediate at the deepest level. */
  applyMappings(
    mappings: readonly { issuer: string; subject: string }[],
    mappingAllowed: boolean,
    inhibitAny: boolean,
  ): void {
    if (!this.levels) return;
    const depth = this.levels.length - 1;
    const level = this.levels[depth]!;
    const byIssuer = new Map<string, Set<string>>();
    for (const m of mappings) byIssuer.set(m.issuer, (byIssuer.get(m.issuer) ?? new Set()).add(m.subject));
    if (mappingAllowed) {
      for (const [issuerPolicy, subjects] of byIssuer) {
        const nodes = level.filter((n) => n.policy === issuerPolicy);
        if (nodes.length > 0) for (const n of nodes) n.expected = new Set(subjects);
        else if (!inhibitAny) {
          const anyNode = level.find((n) => n.policy === ANY_POLICY);
          if (anyNode?.parent) {
            const n: PolicyNode = {
              policy: issuerPolicy,
              expected: new Set(subjects),
              parent: anyNode.parent,
              children: [],
            };
            anyNode.parent.children.push(n);
            level.push(n);
          }
        }
      }
    } else {
      const drop = new Set(byIssuer.keys());
      for (const n of level)
        if (drop.has(n.policy) && n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
      this.levels[depth] = level.filter((n) => !drop.has(n.policy));
      this.levels.push([]);
      this.prune();
      if (this.levels) this.levels.pop();
      if (this.levels && this.levels[depth]!.length === 0) this.levels = undefined;
    }
  }

  /** §6.1.5(g): intersect with the user's initial policy set; returns the authorities-constrained policies. */
  finish(initial: readonly string[]): string[] {
    if (!this.levels) return [];
    const deepest = this.levels[this.levels.length - 1]!;
    if (initial.includes(ANY_POLICY)) return [...new Set(deepest.map((n) => n.policy))].sort();
    const wanted = new Set(initial);
    const out = new Set<string>();
    for (const n of deepest) {
      if (wanted.has(n.policy)) out.add(n.policy);
      else if (n.policy === ANY_POLICY) for (const w of wanted) out.add(w);
      // A node whose ancestry passed through a real policy valid for the user keeps it.
      else {
        for (let p = n.parent; p; p = p.parent) if (wanted.has(p.policy)) out.add(n.policy);
      }
    }
    if (out.size === 0) this.levels = undefined;
    return [...out].sort();
  }
}
