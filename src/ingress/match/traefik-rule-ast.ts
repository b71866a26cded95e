// Syntax tree of a Traefik rule, as parsed (before matcher names and
// arguments are checked against a rule syntax).

export interface RuleArgument {
  /** Decoded string value. */
  readonly value: string;
  /** Offset of the opening quote in the rule text. */
  readonly position: number;
}

export interface MatcherNode {
  readonly type: 'matcher';
  /** The name as written (Traefik accepts `Host`, `host`, `HOST`). */
  readonly name: string;
  readonly args: readonly RuleArgument[];
  readonly position: number;
}

export interface NotNode {
  readonly type: 'not';
  readonly operand: RuleNode;
  readonly position: number;
}

export interface BinaryNode {
  readonly type: 'and' | 'or';
  readonly left: RuleNode;
  readonly right: RuleNode;
  /** Offset of the operator. */
  readonly position: number;
}

export type RuleNode = MatcherNode | NotNode | BinaryNode;
