/** Words the team-file checks share: member kinds, model strings and the name lists messages print. */

/** What a name in a team file stands for. */
export type MemberKind = 'agent' | 'team' | 'human';

/** Any kind of member: agent, team or human. */
export const anyMember: readonly MemberKind[] = ['agent', 'team', 'human'];

/** True for a "provider:model" string (names cannot contain ':'). */
export function isModelString(value: string): boolean {
  return value.includes(':');
}

/** `agent`, `agent or team`, `agent, team or human` (with an article when asked). */
export function nounList(kinds: readonly MemberKind[], article?: 'a'): string {
  const words = kinds.map((kind, index) =>
    index === 0 && article !== undefined ? `${kind === 'agent' ? 'an' : 'a'} ${kind}` : kind,
  );
  return words.length <= 1
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} or ${words.at(-1) as string}`;
}

/** Names a message lists before it says how many more there are. */
const listedNames = 20;

/**
 * Names for a message, comma-separated: all of them, or the first 20 and how many more (a
 * team of thousands of agents would otherwise print them all in every message).
 *
 * @example
 * ```ts
 * nameList(['triage', 'billing']); // 'triage, billing'
 * ```
 */
export function nameList(names: Iterable<string>): string {
  const listed: string[] = [];
  let more = 0;
  for (const name of names) {
    if (listed.length < listedNames) listed.push(name);
    else more += 1;
  }
  return more === 0 ? listed.join(', ') : `${listed.join(', ')} and ${more} more`;
}

/** `a`, `a and b`, `a, b and c`. */
export function andList(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items.at(-1) as string}`;
}
