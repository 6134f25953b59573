/**
 * A compact, deterministic name for a set of MX host names, in the spirit of KumoMTA's
 * `(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com`: the labels every name shares at its end
 * are written once, the differing prefixes as an alternation (`?` when one name is the bare
 * suffix). Domains whose MX sets are equal get equal names, so they share a ready queue.
 */
export function mxSiteName(hosts: readonly string[]): string {
  const names = [...new Set(hosts.map((h) => h.toLowerCase().replace(/\.$/, '')))].sort();
  if (names.length === 0) return '';
  if (names.length === 1) return names[0]!;
  const split = names.map((n) => n.split('.'));
  // Shared trailing labels, keeping at least one label of each name in the prefix unless the
  // name is the suffix itself.
  let shared = 0;
  const shortest = Math.min(...split.map((labels) => labels.length));
  while (shared < shortest) {
    const label = split[0]![split[0]!.length - 1 - shared];
    if (!split.every((labels) => labels[labels.length - 1 - shared] === label)) break;
    shared++;
  }
  // A suffix that is only the TLD says little and makes names harder to read.
  if (shared < 2) return `(${names.join('|')})`;
  const suffix = split[0]!.slice(-shared).join('.');
  const prefixes = split.map((labels) => labels.slice(0, labels.length - shared).join('.'));
  const present = prefixes.filter((p) => p !== '');
  const optional = present.length < prefixes.length ? '?' : '';
  return `(${present.join('|')})${optional}.${suffix}`;
}
